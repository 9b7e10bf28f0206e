//! Where a fleet runs: one [`Target`] per tenant, from a list, a fleet
//! file, a query, or the schemas matching a pattern.

use crate::backend::{Backend, Conn};
use crate::url::redact;
use crate::{Error, Result};
use std::time::Duration;

/// How long listing the tenants may wait for the server to accept the
/// connection.
const LIST_TIMEOUT: Duration = Duration::from_secs(10);

/// One database (or schema) of a fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Target {
    /// What reports call it: the tenant's name, or the URL without its password.
    pub name: String,
    /// Where it is; may hold a password, so never printed as it is.
    pub url: String,
}

impl Target {
    /// A target called `name`.
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Target {
        Target {
            name: name.into(),
            url: url.into(),
        }
    }

    /// A target named after its URL, with the password removed.
    pub fn from_url(url: impl Into<String>) -> Target {
        let url = url.into();
        Target {
            name: redact(&url),
            url,
        }
    }

    /// The server it is on, `host:port`: what the connection budget is
    /// counted per. A URL with no host (SQLite) is its own server.
    pub fn server(&self) -> String {
        match url::Url::parse(&self.url) {
            Ok(url) if url.host_str().is_some() => format!(
                "{}:{}",
                url.host_str().unwrap_or_default(),
                url.port_or_known_default()
                    .map_or_else(|| default_port(url.scheme()), |port| port.to_string())
            ),
            _ => self.url.clone(),
        }
    }
}

fn default_port(scheme: &str) -> String {
    match scheme {
        "postgres" | "postgresql" => "5432",
        "mysql" | "mariadb" => "3306",
        _ => "",
    }
    .to_owned()
}

/// Reads a fleet file: one target per line, `URL` or `NAME URL`; blank
/// lines and lines starting with `#` are skipped.
pub fn parse_fleet_file(text: &str) -> Result<Vec<Target>> {
    let mut targets = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let target = match (words.next(), words.next(), words.next()) {
            (Some(url), None, None) => Target::from_url(url),
            (Some(name), Some(url), None) => Target::new(name, url),
            _ => {
                return Err(Error::FleetFile {
                    line: index + 1,
                    reason: "expected `URL` or `NAME URL`".to_owned(),
                });
            }
        };
        if let Err(error) = Backend::from_url(&target.url) {
            return Err(Error::FleetFile {
                line: index + 1,
                reason: error.to_string(),
            });
        }
        targets.push(target);
    }
    Ok(targets)
}

/// One target per schema (PostgreSQL; a database on MySQL) on the server of
/// `url` whose name matches the SQL `LIKE` pattern `pattern`
/// (`tenant_%`), each with `url` pointed at it.
pub async fn schemas(url: &str, pattern: &str) -> Result<Vec<Target>> {
    let engine = Backend::from_url(url)?.engine();
    let Some(sql) = engine.tenants_like_sql(pattern) else {
        return Err(Error::FleetUnsupported {
            backend: Backend::from_url(url)?,
        });
    };
    let names = first_columns(url, &sql, "listing the tenant schemas").await?;
    names
        .into_iter()
        .map(|row| {
            let name = row.into_iter().next().unwrap_or_default();
            let scoped = engine
                .tenant_url(url, &name)
                .ok_or_else(|| Error::InvalidUrl {
                    url: redact(url),
                    reason: "cannot point it at one schema".to_owned(),
                })?;
            Ok(Target::new(name, scoped))
        })
        .collect()
}

/// One target per row that `sql` answers on `url`: a URL in the first
/// column, or a name then a URL.
pub async fn from_query(url: &str, sql: &str) -> Result<Vec<Target>> {
    let rows = first_columns(url, sql, "running the fleet query").await?;
    rows.into_iter()
        .enumerate()
        .map(|(index, row)| match row.as_slice() {
            [url] => Ok(Target::from_url(url.clone())),
            [name, url, ..] => Ok(Target::new(name.clone(), url.clone())),
            [] => Err(Error::FleetFile {
                line: index + 1,
                reason: "the fleet query answered a row with no URL".to_owned(),
            }),
        })
        .collect()
}

/// The non-NULL text of every row of `sql` on `url`.
async fn first_columns(url: &str, sql: &str, action: &str) -> Result<Vec<Vec<String>>> {
    let mut conn = Conn::connect(url, LIST_TIMEOUT, LIST_TIMEOUT).await?;
    let rows = conn.fetch_text(sql).await;
    conn.close().await;
    let rows = rows.map_err(|source| Error::Database {
        action: action.to_owned(),
        source,
    })?;
    Ok(rows
        .into_iter()
        .map(|row| row.into_iter().flatten().collect::<Vec<_>>())
        .filter(|row| !row.is_empty())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_files_take_urls_names_and_comments() {
        let text = "# tenants\n\npostgres://app:pw@db1/a\nbeta mysql://root@db2:3307/b\n";
        let targets = parse_fleet_file(text).unwrap();
        assert_eq!(targets.len(), 2);
        assert_eq!(targets[0].name, "postgres://app:***@db1/a");
        assert_eq!(targets[0].server(), "db1:5432");
        assert_eq!(targets[1].name, "beta");
        assert_eq!(targets[1].server(), "db2:3307");
    }

    #[test]
    fn a_tenant_url_points_every_connection_at_the_tenant() {
        let scoped = Backend::Postgres
            .engine()
            .tenant_url("postgres://app:pw@db/app?sslmode=disable", "Tenant \"A\"")
            .unwrap();
        let parsed = url::Url::parse(&scoped).unwrap();
        let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            [
                ("sslmode".to_owned(), "disable".to_owned()),
                (
                    "options[search_path]".to_owned(),
                    "\"Tenant \"\"A\"\"\"".to_owned()
                ),
            ]
        );
        let scoped = Backend::MySql
            .engine()
            .tenant_url("mysql://root@db:3306/main?ssl-mode=disabled", "tenant_7")
            .unwrap();
        assert_eq!(scoped, "mysql://root@db:3306/tenant_7?ssl-mode=disabled");
    }

    #[test]
    fn a_bad_line_names_its_number() {
        let error = parse_fleet_file("a b c\n").unwrap_err();
        assert!(error.to_string().contains("line 1"), "{error}");
    }
}
