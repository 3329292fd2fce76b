//! The table model behind schema change events' `tableChanges`: every
//! captured table as its DDL declares it, kept by applying each DDL
//! statement, parsed by `sqlparser`'s MySQL dialect, the way Debezium's
//! MySQL DDL parser applies it to its own in-memory schema.
//!
//! # Where the model comes from, and why every owner has the same one
//! The model is a pure function of the DDL it was given, in order:
//! `SHOW CREATE TABLE` of each captured table at snapshot (and `recovery`)
//! time, and each DDL statement the binlog carries. Both kinds are recorded
//! in the Raft-replicated schema history (entries `{database, ddl, ...}`),
//! so a new owner replays the history ([`SchemaModel::replay`]) and holds
//! the same model as the owner before it. Tables the history does not
//! describe (a connector that started without a snapshot) are read with
//! `SHOW CREATE TABLE` when streaming starts.
//!
//! Applying is idempotent per statement (adding a column that exists
//! replaces it, dropping one that does not is nothing, renaming a table
//! that is gone is nothing): a DDL re-read after a restart, whose history
//! entry was already recorded and replayed, leaves the model as it was.
//!
//! # What a statement the parser cannot read does
//! [`DdlError`]: the statement still streams (rows keep being decoded from
//! the binlog's own table metadata), its schema change event has empty
//! `tableChanges`, and the reader logs a warning and marks the history
//! entry, which `connector status` shows. The table's model stays as it
//! was before the statement (it may be stale until the next `CREATE`).
//!
//! # Debezium's rules, as observed
//! See [`column_type`] for types. Columns: `optional` unless `NOT NULL` or
//! in the primary key; `AUTO_INCREMENT` and `ON UPDATE CURRENT_TIMESTAMP`
//! set both `autoIncremented` and `generated` (generated columns
//! themselves are not `generated`); a character column's charset is its
//! own, or its collation's, or the table's default; defaults are the
//! literal's text without quotes (`CURRENT_TIMESTAMP` is
//! `1970-01-01 00:00:00`); comments keep their doubled quotes. `MODIFY`
//! and `CHANGE` replace the whole column. `DROP TABLE a, b` is one event
//! per table, and so is `RENAME TABLE a TO b, c TO d`. `CREATE TABLE ...
//! LIKE` copies all but the table comment; `CREATE TABLE IF NOT EXISTS` of
//! a known table makes no event. A table without a primary key takes its
//! first unique key of NOT NULL columns as one.
pub mod column_type;

use std::collections::{BTreeMap, HashMap};

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnOption, CreateTable, CreateTableLikeKind, CreateTableOptions,
    DataType, Expr, MySQLColumnPosition, ObjectName, ObjectType, RenameTableNameKind, SqlOption, Statement,
    TableConstraint, Value,
};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use column_type::{declared, DeclaredType};
pub use crate::envelope::TableChangeKind;

/// Why a DDL statement did not change the model.
#[derive(Debug, thiserror::Error)]
pub enum DdlError {
    #[error("the DDL parser cannot read it: {0}")]
    Parse(#[from] sqlparser::parser::ParserError),
    #[error("column type {0} is not modelled")]
    UnsupportedType(String),
    #[error("{0} is not modelled")]
    Unsupported(String),
    #[error("table {0} is not known (no snapshot or earlier DDL describes it)")]
    UnknownTable(String),
    #[error("column {column} of {table} is not known")]
    UnknownColumn { table: String, column: String },
}

/// One column, as `tableChanges` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnModel {
    pub name: String,
    pub jdbc_type: i32,
    pub type_name: String,
    pub type_expression: String,
    pub charset: Option<String>,
    pub length: Option<i64>,
    pub scale: Option<i64>,
    pub optional: bool,
    pub auto_incremented: bool,
    pub generated: bool,
    pub comment: Option<String>,
    pub default_value: Option<String>,
    pub enum_values: Option<Vec<String>>,
}

/// One table. Column positions are their order here (1-based).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableModel {
    pub columns: Vec<ColumnModel>,
    pub primary_key: Vec<String>,
    pub default_charset: Option<String>,
    pub comment: Option<String>,
}

impl TableModel {
    fn index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name.eq_ignore_ascii_case(name))
    }
}

/// One entry of a schema change event's `tableChanges`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelChange {
    pub kind: TableChangeKind,
    pub db: String,
    pub table: String,
    /// The table after the change (`None` for `DROP`).
    pub model: Option<TableModel>,
}

/// One schema change event a statement makes.
#[derive(Debug, Clone, PartialEq)]
pub struct DdlEvent {
    /// The DDL the event shows: the statement, or Debezium's rewrite of
    /// one table's part of it (`DROP TABLE a, b`).
    pub ddl: Option<String>,
    pub changes: Vec<ModelChange>,
    /// `source.table`: the statement's table names joined by commas
    /// (`""` for an index statement), or none for other statements.
    pub source_table: Option<String>,
}

/// Every captured table's model, and what it needs to describe new ones.
#[derive(Debug, Clone, Default)]
pub struct SchemaModel {
    tables: HashMap<(String, String), TableModel>,
    /// Databases' default character sets.
    db_charsets: HashMap<String, String>,
    /// The server's default, for databases not known.
    server_charset: Option<String>,
    /// `include.schema.comments`: whether comments are kept.
    comments: bool,
}

type Captures<'a> = &'a dyn Fn(&str, &str) -> bool;

fn ident_name(name: &ObjectName, default_db: &str) -> Result<(String, String), DdlError> {
    let parts: Vec<String> = name.0.iter().filter_map(|p| p.as_ident()).map(|i| i.value.clone()).collect();
    match parts.as_slice() {
        [table] => Ok((default_db.to_owned(), table.clone())),
        [db, table] => Ok((db.clone(), table.clone())),
        _ => Err(DdlError::Unsupported(format!("table name {name}"))),
    }
}

/// A literal's text without its quotes, inner quotes kept doubled (what
/// Debezium shows for comments and defaults).
fn raw(text: &str) -> String {
    text.replace('\'', "''")
}

fn charset_of_collation(collation: &str) -> String {
    collation.split('_').next().unwrap_or(collation).to_owned()
}

fn option_text(value: &Expr) -> String {
    match value {
        Expr::Identifier(ident) => ident.value.clone(),
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
            other => other.to_string(),
        },
        other => other.to_string(),
    }
}

fn is_now(expr: &Expr) -> bool {
    let text = expr.to_string().to_ascii_uppercase();
    ["CURRENT_TIMESTAMP", "NOW(", "LOCALTIMESTAMP", "LOCALTIME"].iter().any(|p| text.starts_with(p))
}

fn default_text(expr: &Expr, declared: &DeclaredType) -> Option<String> {
    if is_now(expr) && matches!(declared.type_name.as_str(), "TIMESTAMP" | "DATETIME") {
        return Some("1970-01-01 00:00:00".into());
    }
    Some(match expr {
        Expr::Value(v) => match &v.value {
            Value::Null => return None,
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => raw(s),
            Value::SingleQuotedByteStringLiteral(s) | Value::DoubleQuotedByteStringLiteral(s) => s.clone(),
            Value::HexStringLiteral(s) => s.clone(),
            Value::Boolean(b) => if *b { "TRUE" } else { "FALSE" }.into(),
            Value::Number(n, _) => n.to_string(),
            other => other.to_string(),
        },
        Expr::TypedString(t) => option_text(&Expr::Value(t.value.clone())),
        other => other.to_string(),
    })
}

/// What a column definition's options say.
fn column(
    name: &str,
    data_type: &DataType,
    options: &[&ColumnOption],
    table_charset: Option<&str>,
    comments: bool,
) -> Result<(ColumnModel, bool), DdlError> {
    let declared = declared(data_type)?;
    let mut column = ColumnModel {
        name: name.to_owned(),
        jdbc_type: declared.jdbc_type,
        type_name: declared.type_name.clone(),
        type_expression: declared.type_name.clone(),
        charset: None,
        length: declared.length,
        scale: declared.scale,
        optional: !declared.serial,
        auto_incremented: declared.serial,
        generated: declared.serial,
        comment: None,
        default_value: None,
        enum_values: declared.enum_values.clone(),
    };
    let (mut charset, mut collation, mut primary) = (None, None, false);
    for option in options {
        match option {
            ColumnOption::NotNull => column.optional = false,
            ColumnOption::Null => column.optional = true,
            ColumnOption::Default(expr) => column.default_value = default_text(expr, &declared),
            ColumnOption::DialectSpecific(tokens)
                if tokens.iter().any(|t| t.to_string().eq_ignore_ascii_case("AUTO_INCREMENT")) =>
            {
                column.auto_incremented = true;
                column.generated = true;
            }
            ColumnOption::OnUpdate(_) => {
                column.auto_incremented = true;
                column.generated = true;
            }
            ColumnOption::PrimaryKey(_) => {
                primary = true;
                column.optional = false;
            }
            ColumnOption::CharacterSet(name) => charset = Some(name.to_string()),
            ColumnOption::Collation(name) => collation = Some(name.to_string()),
            ColumnOption::Comment(text) if comments => column.comment = Some(raw(text)),
            _ => {}
        }
    }
    if declared.national {
        charset = charset.or_else(|| Some("utf8".into()));
    }
    if declared.textual {
        column.charset = charset
            .or_else(|| collation.as_deref().map(charset_of_collation))
            .or_else(|| table_charset.map(str::to_owned));
    }
    Ok((column, primary))
}

fn place(table: &mut TableModel, column: ColumnModel, at: Option<usize>, position: Option<&MySQLColumnPosition>) -> Result<(), DdlError> {
    let index = match position {
        Some(MySQLColumnPosition::First) => 0,
        Some(MySQLColumnPosition::After(after)) => {
            table.index(&after.value).map(|i| i + 1).ok_or_else(|| DdlError::UnknownColumn {
                table: String::new(),
                column: after.value.clone(),
            })?
        }
        None => at.unwrap_or(table.columns.len()),
    };
    table.columns.insert(index.min(table.columns.len()), column);
    Ok(())
}

fn rename_in_key(table: &mut TableModel, old: &str, new: &str) {
    for key in &mut table.primary_key {
        if key.eq_ignore_ascii_case(old) {
            *key = new.to_owned();
        }
    }
}

fn set_primary_key(table: &mut TableModel, names: Vec<String>) {
    for name in &names {
        if let Some(i) = table.index(name) {
            table.columns[i].optional = false;
        }
    }
    table.primary_key = names;
}

fn key_columns(columns: &[sqlparser::ast::IndexColumn]) -> Vec<String> {
    columns
        .iter()
        .map(|c| match &c.column.expr {
            Expr::Identifier(ident) => ident.value.clone(),
            other => other.to_string(),
        })
        .collect()
}

impl SchemaModel {
    /// An empty model; `comments` is `include.schema.comments`.
    pub fn new(comments: bool) -> SchemaModel {
        SchemaModel { comments, ..Default::default() }
    }

    /// Sets what a new table's default character set is when its DDL
    /// names none: the server's, and each database's.
    pub fn set_charsets(&mut self, server: Option<String>, databases: impl IntoIterator<Item = (String, String)>) {
        self.server_charset = server;
        self.db_charsets.extend(databases);
    }

    /// Whether the model describes `db`.`table`.
    pub fn knows(&self, db: &str, table: &str) -> bool {
        self.tables.contains_key(&(db.to_owned(), table.to_owned()))
    }

    /// The model of `db`.`table`.
    pub fn table(&self, db: &str, table: &str) -> Option<&TableModel> {
        self.tables.get(&(db.to_owned(), table.to_owned()))
    }

    /// Applies the schema history's entries in order (`database`, `ddl`);
    /// entries that did not apply when recorded do not apply now either.
    pub fn replay(&mut self, history: &[serde_json::Value], captures: Captures<'_>) {
        for entry in history {
            let (Some(db), Some(ddl)) = (entry["database"].as_str(), entry["ddl"].as_str()) else { continue };
            if let Err(error) = self.apply(db, ddl, captures) {
                tracing::debug!(%ddl, %error, "schema model: a history entry did not apply on replay");
            }
        }
    }

    /// Applies `sql` (run with default database `default_db`), returning
    /// the schema change events it makes. Only tables `captures` accepts
    /// are modelled and reported.
    pub fn apply(&mut self, default_db: &str, sql: &str, captures: Captures<'_>) -> Result<Vec<DdlEvent>, DdlError> {
        let statements = Parser::parse_sql(&MySqlDialect {}, sql)?;
        let mut events = Vec::new();
        for statement in &statements {
            events.extend(self.statement(default_db, sql, statement, captures)?);
        }
        Ok(events)
    }

    fn db_charset(&self, db: &str) -> Option<String> {
        self.db_charsets.get(db).cloned().or_else(|| self.server_charset.clone())
    }

    fn statement(&mut self, default_db: &str, sql: &str, statement: &Statement, captures: Captures<'_>) -> Result<Vec<DdlEvent>, DdlError> {
        let one = |changes: Vec<ModelChange>, source_table: Option<String>| {
            vec![DdlEvent { ddl: Some(sql.to_owned()), changes, source_table }]
        };
        match statement {
            Statement::CreateTable(create) => {
                let (db, table) = ident_name(&create.name, default_db)?;
                if !captures(&db, &table) {
                    return Ok(one(Vec::new(), Some(table)));
                }
                // Debezium writes no event for it.
                if create.if_not_exists && self.knows(&db, &table) {
                    return Ok(Vec::new());
                }
                let model = self.create(&db, create, default_db)?;
                self.tables.insert((db.clone(), table.clone()), model.clone());
                let change = ModelChange { kind: TableChangeKind::Create, db, table: table.clone(), model: Some(model) };
                Ok(one(vec![change], Some(table)))
            }
            Statement::AlterTable(alter) => {
                let (db, table) = ident_name(&alter.name, default_db)?;
                if !captures(&db, &table) {
                    return Ok(one(Vec::new(), Some(table)));
                }
                let key = (db.clone(), table.clone());
                let mut model = self.tables.get(&key).cloned().ok_or_else(|| DdlError::UnknownTable(format!("{db}.{table}")))?;
                let mut name = (db.clone(), table.clone());
                for operation in &alter.operations {
                    if let Some(renamed) = self.alter(&mut model, operation, &db)? {
                        name = renamed;
                    }
                }
                self.tables.remove(&key);
                let reported = captures(&name.0, &name.1);
                if reported {
                    self.tables.insert(name.clone(), model.clone());
                }
                let changes = if reported {
                    vec![ModelChange { kind: TableChangeKind::Alter, db: name.0, table: name.1.clone(), model: Some(model) }]
                } else {
                    Vec::new()
                };
                Ok(one(changes, Some(name.1)))
            }
            Statement::RenameTable(renames) => {
                // One event per rename, as Debezium writes them.
                let names = renames
                    .iter()
                    .map(|r| Ok((ident_name(&r.old_name, default_db)?, ident_name(&r.new_name, default_db)?)))
                    .collect::<Result<Vec<_>, DdlError>>()?;
                let joined = names.iter().map(|(_, new)| new.1.as_str()).collect::<Vec<_>>().join(",");
                let mut events = Vec::new();
                for (rename, (old, new)) in renames.iter().zip(names) {
                    let mut changes = Vec::new();
                    // Already renamed (a DDL read again): the model is as
                    // the rename left it.
                    let model = self.tables.remove(&old).or_else(|| self.tables.get(&new).cloned());
                    if let (Some(model), true) = (model, captures(&new.0, &new.1)) {
                        self.tables.insert(new.clone(), model.clone());
                        changes.push(ModelChange { kind: TableChangeKind::Alter, db: new.0, table: new.1, model: Some(model) });
                    }
                    let ddl = if renames.len() == 1 { sql.to_owned() } else { format!("RENAME TABLE {} TO {}", rename.old_name, rename.new_name) };
                    events.push(DdlEvent { ddl: Some(ddl), changes, source_table: Some(joined.clone()) });
                }
                Ok(events)
            }
            Statement::Drop { object_type: ObjectType::Table, if_exists, names, .. } => {
                let tables = names.iter().map(|n| ident_name(n, default_db)).collect::<Result<Vec<_>, _>>()?;
                let joined = tables.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join(",");
                let mut events = Vec::new();
                for (db, table) in tables {
                    self.tables.remove(&(db.clone(), table.clone()));
                    if !captures(&db, &table) {
                        continue;
                    }
                    let ddl = format!(
                        "DROP TABLE {}`{}`.`{}`",
                        if *if_exists { "IF EXISTS " } else { "" },
                        db.replace('`', "``"),
                        table.replace('`', "``")
                    );
                    events.push(DdlEvent {
                        ddl: Some(ddl),
                        changes: vec![ModelChange { kind: TableChangeKind::Drop, db, table, model: None }],
                        source_table: Some(joined.clone()),
                    });
                }
                if events.is_empty() {
                    return Ok(one(Vec::new(), Some(joined)));
                }
                Ok(events)
            }
            Statement::Drop { object_type: ObjectType::Schema | ObjectType::Database, names, .. } => {
                for name in names {
                    let db = name.to_string().trim_matches('`').to_owned();
                    self.tables.retain(|(d, _), _| *d != db);
                    self.db_charsets.remove(&db);
                }
                Ok(one(Vec::new(), None))
            }
            Statement::Drop { object_type: ObjectType::Index, .. } | Statement::CreateIndex(_) => {
                Ok(one(Vec::new(), Some(String::new())))
            }
            Statement::CreateDatabase { db_name, default_charset, default_collation, .. } => {
                let db = db_name.to_string().trim_matches('`').to_owned();
                let charset = default_charset.clone().or_else(|| default_collation.as_deref().map(charset_of_collation));
                if let Some(charset) = charset.or_else(|| self.server_charset.clone()) {
                    self.db_charsets.insert(db, charset);
                }
                Ok(one(Vec::new(), None))
            }
            _ => Ok(one(Vec::new(), None)),
        }
    }

    fn create(&self, db: &str, create: &CreateTable, default_db: &str) -> Result<TableModel, DdlError> {
        if let Some(like) = &create.like {
            let source = match like {
                CreateTableLikeKind::Parenthesized(like) | CreateTableLikeKind::Plain(like) => &like.name,
            };
            let source = ident_name(source, default_db)?;
            let mut model = self
                .tables
                .get(&source)
                .cloned()
                .ok_or_else(|| DdlError::UnknownTable(format!("{}.{}", source.0, source.1)))?;
            model.comment = None;
            return Ok(model);
        }
        if create.query.is_some() {
            return Err(DdlError::Unsupported("CREATE TABLE ... SELECT".into()));
        }
        let mut model = TableModel::default();
        let (mut charset, mut collation) = (None, None);
        let options: &[SqlOption] = match &create.table_options {
            CreateTableOptions::None => &[],
            CreateTableOptions::With(o)
            | CreateTableOptions::Options(o)
            | CreateTableOptions::Plain(o)
            | CreateTableOptions::TableProperties(o) => o,
        };
        for option in options {
            match option {
                SqlOption::KeyValue { key, value } => {
                    let key = key.to_string().to_ascii_uppercase();
                    match key.trim_start_matches("DEFAULT ") {
                        "CHARSET" | "CHARACTER SET" => charset = Some(option_text(value)),
                        "COLLATE" => collation = Some(option_text(value)),
                        _ => {}
                    }
                }
                SqlOption::Comment(comment) if self.comments => model.comment = Some(raw(comment_text(comment))),
                _ => {}
            }
        }
        if let (Some(comment), true) = (&create.comment, self.comments) {
            model.comment = Some(raw(comment_text(comment)));
        }
        model.default_charset = charset.or_else(|| collation.as_deref().map(charset_of_collation)).or_else(|| self.db_charset(db));
        for def in &create.columns {
            let options: Vec<&ColumnOption> = def.options.iter().map(|o| &o.option).collect();
            let (column, primary) = column(&def.name.value, &def.data_type, &options, model.default_charset.as_deref(), self.comments)?;
            if primary {
                model.primary_key = vec![column.name.clone()];
            }
            model.columns.push(column);
        }
        for constraint in &create.constraints {
            if let TableConstraint::PrimaryKey(key) = constraint {
                set_primary_key(&mut model, key_columns(&key.columns));
            }
        }
        // Without a primary key, Debezium takes the first unique key whose
        // columns are all NOT NULL (`SERIAL` is one).
        if model.primary_key.is_empty() {
            let unique_constraints = create.constraints.iter().filter_map(|c| match c {
                TableConstraint::Unique(unique) => Some(key_columns(&unique.columns)),
                _ => None,
            });
            let unique_columns = create.columns.iter().filter_map(|def| {
                let unique = matches!(def.data_type, DataType::Custom(ref n, _) if n.to_string().eq_ignore_ascii_case("SERIAL"))
                    || def.options.iter().any(|o| matches!(o.option, ColumnOption::Unique(_)));
                unique.then(|| vec![def.name.value.clone()])
            });
            let not_null = |names: &Vec<String>| names.iter().all(|n| model.index(n).is_some_and(|i| !model.columns[i].optional));
            if let Some(key) = unique_columns.chain(unique_constraints).find(not_null) {
                model.primary_key = key;
            }
        }
        Ok(model)
    }

    /// Applies one `ALTER TABLE` operation; returns the new name if it
    /// renames the table.
    fn alter(&self, model: &mut TableModel, operation: &AlterTableOperation, db: &str) -> Result<Option<(String, String)>, DdlError> {
        use AlterTableOperation as Op;
        let charset = model.default_charset.clone();
        match operation {
            Op::AddColumn { column_def, column_position, .. } => {
                let options: Vec<&ColumnOption> = column_def.options.iter().map(|o| &o.option).collect();
                let (column, primary) = column(&column_def.name.value, &column_def.data_type, &options, charset.as_deref(), self.comments)?;
                let at = model.index(&column.name);
                if let Some(i) = at {
                    model.columns.remove(i);
                }
                let name = column.name.clone();
                place(model, column, at, column_position.as_ref())?;
                if primary {
                    set_primary_key(model, vec![name]);
                }
            }
            Op::DropColumn { column_names, .. } => {
                for name in column_names {
                    if let Some(i) = model.index(&name.value) {
                        model.columns.remove(i);
                    }
                    model.primary_key.retain(|k| !k.eq_ignore_ascii_case(&name.value));
                }
            }
            Op::ModifyColumn { col_name, data_type, options, column_position } => {
                self.replace(model, &col_name.value, &col_name.value, data_type, options, column_position.as_ref())?;
            }
            Op::ChangeColumn { old_name, new_name, data_type, options, column_position } => {
                // Read again after it applied: the old name is gone.
                let old = if model.index(&old_name.value).is_none() { &new_name.value } else { &old_name.value };
                self.replace(model, old, &new_name.value, data_type, options, column_position.as_ref())?;
            }
            Op::RenameColumn { old_column_name, new_column_name } => {
                if let Some(i) = model.index(&old_column_name.value) {
                    model.columns[i].name = new_column_name.value.clone();
                    rename_in_key(model, &old_column_name.value, &new_column_name.value);
                }
            }
            Op::AlterColumn { column_name, op } => {
                let i = model.index(&column_name.value).ok_or_else(|| DdlError::UnknownColumn {
                    table: String::new(),
                    column: column_name.value.clone(),
                })?;
                let column = &mut model.columns[i];
                match op {
                    AlterColumnOperation::SetDefault { value } => {
                        let declared = column_type::plain(column.jdbc_type, &column.type_name);
                        column.default_value = default_text(value, &declared);
                    }
                    AlterColumnOperation::DropDefault => column.default_value = None,
                    AlterColumnOperation::SetNotNull => column.optional = false,
                    AlterColumnOperation::DropNotNull => column.optional = true,
                    other => return Err(DdlError::Unsupported(format!("ALTER COLUMN {other}"))),
                }
            }
            Op::DropPrimaryKey { .. } => model.primary_key.clear(),
            Op::AddConstraint { constraint: TableConstraint::PrimaryKey(key), .. } => {
                set_primary_key(model, key_columns(&key.columns));
            }
            Op::RenameTable { table_name: RenameTableNameKind::To(name) | RenameTableNameKind::As(name) } => {
                return ident_name(name, db).map(Some);
            }
            Op::AddConstraint { .. }
            | Op::DropConstraint { .. }
            | Op::DropIndex { .. }
            | Op::DropForeignKey { .. }
            | Op::Algorithm { .. }
            | Op::Lock { .. }
            | Op::AutoIncrement { .. } => {}
            other => return Err(DdlError::Unsupported(format!("ALTER TABLE ... {other}"))),
        }
        Ok(None)
    }

    /// `MODIFY`/`CHANGE`: the column is declared anew, in place unless
    /// moved.
    fn replace(
        &self,
        model: &mut TableModel,
        old: &str,
        new: &str,
        data_type: &DataType,
        options: &[ColumnOption],
        position: Option<&MySQLColumnPosition>,
    ) -> Result<(), DdlError> {
        let i = model.index(old).ok_or_else(|| DdlError::UnknownColumn { table: String::new(), column: old.to_owned() })?;
        let options: Vec<&ColumnOption> = options.iter().collect();
        let (mut column, primary) = column(new, data_type, &options, model.default_charset.as_deref(), self.comments)?;
        if model.primary_key.iter().any(|k| k.eq_ignore_ascii_case(old)) {
            column.optional = false;
        }
        model.columns.remove(i);
        place(model, column, Some(i), position)?;
        rename_in_key(model, old, new);
        if primary {
            set_primary_key(model, vec![new.to_owned()]);
        }
        Ok(())
    }

    /// The models of every table, by database and name (for tests and
    /// status).
    pub fn tables(&self) -> BTreeMap<(String, String), &TableModel> {
        self.tables.iter().map(|(k, v)| (k.clone(), v)).collect()
    }
}

fn comment_text(comment: &sqlparser::ast::CommentDef) -> &str {
    match comment {
        sqlparser::ast::CommentDef::WithEq(s) | sqlparser::ast::CommentDef::WithoutEq(s) => s,
    }
}

#[cfg(test)]
mod tests;
