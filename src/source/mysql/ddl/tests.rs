use super::*;

fn all(_: &str, _: &str) -> bool {
    true
}

fn model() -> SchemaModel {
    let mut m = SchemaModel::new(true);
    m.set_charsets(Some("utf8mb4".into()), [("shop".to_string(), "utf8mb4".to_string())]);
    m
}

fn names(m: &SchemaModel, table: &str) -> Vec<String> {
    m.table("shop", table).unwrap().columns.iter().map(|c| c.name.clone()).collect()
}

#[test]
fn show_create_table_output_is_read() {
    let mut m = model();
    let ddl = "CREATE TABLE `t` (\n  `id` int(11) NOT NULL AUTO_INCREMENT COMMENT 'the key',\n  \
               `name` varchar(20) CHARACTER SET latin1 COLLATE latin1_swedish_ci DEFAULT 'x',\n  \
               `ts` timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),\n  \
               `e` enum('a','b''c') DEFAULT NULL,\n  PRIMARY KEY (`id`),\n  KEY `n` (`name`)\n) \
               ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci COMMENT='tbl'";
    let events = m.apply("shop", ddl, &all).unwrap();
    assert_eq!(events.len(), 1);
    let change = &events[0].changes[0];
    assert_eq!((change.kind, change.table.as_str()), (TableChangeKind::Create, "t"));
    let t = change.model.as_ref().unwrap();
    assert_eq!(t.primary_key, ["id"]);
    assert_eq!(t.comment.as_deref(), Some("tbl"));
    assert_eq!(t.default_charset.as_deref(), Some("utf8mb4"));
    let id = &t.columns[0];
    assert_eq!((id.type_name.as_str(), id.length, id.optional, id.auto_incremented, id.generated), ("INT", Some(11), false, true, true));
    assert_eq!(id.comment.as_deref(), Some("the key"));
    assert_eq!(t.columns[1].charset.as_deref(), Some("latin1"));
    assert_eq!(t.columns[1].default_value.as_deref(), Some("x"));
    assert_eq!(t.columns[2].default_value.as_deref(), Some("1970-01-01 00:00:00"));
    assert!(t.columns[2].auto_incremented);
    assert_eq!(t.columns[3].enum_values.as_deref(), Some(&["'a'".to_string(), "'b''c'".to_string()][..]));
    assert_eq!(t.columns[3].default_value, None);
}

#[test]
fn alters_change_columns_keys_and_names() {
    let mut m = model();
    m.apply("shop", "CREATE TABLE t (id INT PRIMARY KEY, a INT, b VARCHAR(5))", &all).unwrap();
    m.apply("shop", "ALTER TABLE t ADD COLUMN c INT NOT NULL AFTER id, ADD d INT FIRST, DROP COLUMN a", &all).unwrap();
    assert_eq!(names(&m, "t"), ["d", "id", "c", "b"]);
    m.apply("shop", "ALTER TABLE t CHANGE COLUMN b bb TEXT, MODIFY c BIGINT, RENAME COLUMN d TO dd", &all).unwrap();
    assert_eq!(names(&m, "t"), ["dd", "id", "c", "bb"]);
    assert_eq!(m.table("shop", "t").unwrap().columns[2].type_name, "BIGINT");
    m.apply("shop", "ALTER TABLE t DROP PRIMARY KEY, ADD PRIMARY KEY (id, c)", &all).unwrap();
    assert_eq!(m.table("shop", "t").unwrap().primary_key, ["id", "c"]);
    let events = m.apply("shop", "RENAME TABLE t TO u", &all).unwrap();
    assert_eq!(events[0].changes[0].kind, TableChangeKind::Alter);
    assert_eq!(events[0].changes[0].table, "u");
    assert!(!m.knows("shop", "t") && m.knows("shop", "u"));
    m.apply("shop", "ALTER TABLE u RENAME TO v", &all).unwrap();
    assert!(m.knows("shop", "v"));
}

#[test]
fn a_statement_read_twice_leaves_the_model_as_once() {
    let mut m = model();
    m.apply("shop", "CREATE TABLE t (id INT PRIMARY KEY, a INT)", &all).unwrap();
    for _ in 0..2 {
        m.apply("shop", "ALTER TABLE t ADD COLUMN b INT AFTER id", &all).unwrap();
        m.apply("shop", "ALTER TABLE t CHANGE a aa INT", &all).unwrap();
    }
    assert_eq!(names(&m, "t"), ["id", "b", "aa"]);
}

#[test]
fn drop_of_several_tables_is_one_event_each() {
    let mut m = model();
    m.apply("shop", "CREATE TABLE a (id INT)", &all).unwrap();
    let events = m.apply("shop", "DROP TABLE a, `other`.b", &all).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].ddl.as_deref(), Some("DROP TABLE `shop`.`a`"));
    assert_eq!(events[1].ddl.as_deref(), Some("DROP TABLE `other`.`b`"));
    assert_eq!(events[1].source_table.as_deref(), Some("a,b"));
    assert!(events[0].changes[0].model.is_none());
}

#[test]
fn tables_not_captured_are_not_modelled() {
    let mut m = model();
    let only_t = |_: &str, t: &str| t == "t";
    let events = m.apply("shop", "CREATE TABLE x (id INT)", &only_t).unwrap();
    assert!(events[0].changes.is_empty());
    assert!(!m.knows("shop", "x"));
}

#[test]
fn unreadable_ddl_is_an_error_and_changes_nothing() {
    let mut m = model();
    m.apply("shop", "CREATE TABLE t (id INT)", &all).unwrap();
    let before = m.table("shop", "t").cloned();
    assert!(m.apply("shop", "ALTER TABLE t COMMENT = 'x'", &all).is_err());
    assert!(m.apply("shop", "ALTER TABLE missing ADD c INT", &all).is_err());
    assert_eq!(m.table("shop", "t").cloned(), before);
}

#[test]
fn replay_rebuilds_the_same_model() {
    let history = [
        serde_json::json!({"database": "shop", "ddl": "CREATE TABLE t (id INT PRIMARY KEY, a INT)"}),
        serde_json::json!({"database": "shop", "ddl": "ALTER TABLE t ADD b INT"}),
    ];
    let mut m = model();
    m.replay(&history, &all);
    assert_eq!(names(&m, "t"), ["id", "a", "b"]);
}

#[test]
fn comments_are_kept_only_when_asked() {
    let mut m = SchemaModel::new(false);
    m.apply("shop", "CREATE TABLE t (id INT COMMENT 'c') COMMENT 'x'", &all).unwrap();
    let t = m.table("shop", "t").unwrap();
    assert_eq!((t.comment.as_deref(), t.columns[0].comment.as_deref()), (None, None));
}

#[test]
fn renames_are_one_event_each_and_create_if_not_exists_of_a_known_table_none() {
    let mut m = model();
    m.apply("shop", "CREATE TABLE a (id SERIAL)", &all).unwrap();
    m.apply("shop", "CREATE TABLE b (id INT)", &all).unwrap();
    assert_eq!(m.table("shop", "a").unwrap().primary_key, ["id"], "SERIAL stands in for the primary key");
    assert!(m.apply("shop", "CREATE TABLE IF NOT EXISTS a (x INT)", &all).unwrap().is_empty());
    let events = m.apply("shop", "RENAME TABLE a TO a2, b TO b2", &all).unwrap();
    let ddls: Vec<_> = events.iter().map(|e| e.ddl.clone().unwrap()).collect();
    assert_eq!(ddls, ["RENAME TABLE a TO a2", "RENAME TABLE b TO b2"]);
    assert!(events.iter().all(|e| e.source_table.as_deref() == Some("a2,b2")));
    assert!(m.knows("shop", "a2") && m.knows("shop", "b2") && !m.knows("shop", "a"));
}
