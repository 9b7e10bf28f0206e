//! Whether a column type change can lose data, judged from the target type alone.
//!
//! The current type is not in the text, so a target is destructive when it holds fewer values
//! than a common source: a bound on length or precision, a narrow integer, a float, a boolean,
//! a date or a time. Unbounded and wide targets are not, nor a variable-length string of 255
//! or more (the usual "make it longer").

/// Wide targets: any common source converts into them without loss (or fails loudly).
const WIDE: &[&str] = &[
    "TEXT",
    "TINYTEXT",
    "MEDIUMTEXT",
    "LONGTEXT",
    "CITEXT",
    "VARCHAR",
    "CHARACTER VARYING",
    "NVARCHAR",
    "STRING",
    "CLOB",
    "BIGINT",
    "INT8",
    "BIGSERIAL",
    "DOUBLE",
    "DOUBLE PRECISION",
    "FLOAT8",
    "NUMERIC",
    "DECIMAL",
    "TIMESTAMP",
    "TIMESTAMPTZ",
    "TIMESTAMP WITH TIME ZONE",
    "TIMESTAMP WITHOUT TIME ZONE",
    "DATETIME",
    "JSON",
    "JSONB",
    "BYTEA",
    "BLOB",
    "MEDIUMBLOB",
    "LONGBLOB",
    "VARBINARY",
    "UUID",
    "XML",
    "INTERVAL",
];

/// Narrow targets: they round, truncate or reject part of a common source's values.
const NARROW: &[&str] = &[
    "SMALLINT",
    "INT2",
    "INT",
    "INTEGER",
    "INT4",
    "MEDIUMINT",
    "TINYINT",
    "SERIAL",
    "SMALLSERIAL",
    "REAL",
    "FLOAT",
    "FLOAT4",
    "BOOLEAN",
    "BOOL",
    "BIT",
    "DATE",
    "TIME",
    "YEAR",
    "CHAR",
    "CHARACTER",
    "ENUM",
    "SET",
];

/// Whether converting a column to `target` (SQL type text such as `varchar(50)`, `integer`,
/// `numeric(10, 2)`, `text`) can narrow, round or truncate its values.
///
/// ```
/// use cofferdam_lint::type_narrows;
///
/// assert!(type_narrows("varchar(50)"));
/// assert!(type_narrows("integer"));
/// assert!(!type_narrows("text"));
/// assert!(!type_narrows("bigint"));
/// ```
pub fn type_narrows(target: &str) -> bool {
    let upper = target.trim().to_ascii_uppercase();
    // MySQL's UNSIGNED and array brackets do not change the answer; a bound does.
    let base = upper
        .trim_end_matches("[]")
        .replace(" UNSIGNED", "")
        .replace(" SIGNED", "");
    if let Some(open) = base.find('(') {
        // `varchar(50)`, `decimal(10, 2)`, `timestamp(0)`, `enum('a', 'b')`: bounded. A
        // variable-length string of 255 or more is taken as a widening: it is the common
        // target of "make this column longer" (and MySQL's `varchar` default), rarely a cut.
        let name = base[..open].trim();
        let bound: Option<u64> = base[open + 1..]
            .split([',', ')'])
            .next()
            .and_then(|n| n.trim().parse().ok());
        let variable = ["VARCHAR", "CHARACTER VARYING", "NVARCHAR", "VARBINARY"].contains(&name);
        let long_string = variable && bound.is_some_and(|b| b >= 255);
        return !name.is_empty() && !long_string;
    }
    let base = base.trim();
    if WIDE.contains(&base) {
        return false;
    }
    NARROW.contains(&base)
        || NARROW
            .iter()
            .any(|n| base.starts_with(&format!("{n} ")) && !base.starts_with("TIMESTAMP"))
}

#[cfg(test)]
mod tests {
    use super::type_narrows;

    #[test]
    fn targets() {
        for narrow in [
            "varchar(10)",
            "character varying(20)",
            "decimal(10, 2)",
            "numeric(5)",
            "integer",
            "int",
            "smallint",
            "int unsigned",
            "real",
            "boolean",
            "date",
            "time",
            "timestamp(0)",
            "char",
            "enum('a', 'b')",
        ] {
            assert!(type_narrows(narrow), "{narrow}");
        }
        for wide in [
            "text",
            "varchar",
            "character varying",
            "bigint",
            "bigint unsigned",
            "double precision",
            "numeric",
            "timestamp",
            "timestamp with time zone",
            "jsonb",
            "bytea",
            "blob",
            "uuid",
            "citext",
            "my_domain",
            "varchar(255)",
            "VARCHAR(1000)",
        ] {
            assert!(!type_narrows(wide), "{wide}");
        }
    }
}
