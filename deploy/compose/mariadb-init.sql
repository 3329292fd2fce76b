-- Run once by the MariaDB image on an empty data directory: the CDC user
-- with the privileges raftcdc checks for, and a sample schema.
CREATE USER 'raftcdc'@'%' IDENTIFIED BY 'raftcdc-demo-only';
GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR ON *.* TO 'raftcdc'@'%';
CREATE DATABASE inventory;
CREATE TABLE inventory.customers (id INT PRIMARY KEY, first_name VARCHAR(255), last_name VARCHAR(255), email VARCHAR(255) UNIQUE);
INSERT INTO inventory.customers VALUES (1001, 'Sally', 'Thomas', 'sally.thomas@acme.com'), (1002, 'George', 'Bailey', 'gbailey@foobar.com');
