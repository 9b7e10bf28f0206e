//! How far replicas are behind: asked of the primary where it knows
//! (PostgreSQL), of each replica otherwise (MySQL, MariaDB).

use crate::backend::Conn;
use crate::url::redact;
use crate::{Error, Result};
use std::time::Duration;

/// The replicas of one backfill.
#[derive(Debug)]
pub(crate) struct Replicas {
    /// Each replica's URL (redacted) and connection.
    replicas: Vec<(String, Conn)>,
    /// Where the primary's log ended when it was asked, and when: the lag
    /// is the age of the oldest position the replicas have not replayed.
    written: std::collections::VecDeque<(std::time::Instant, u128)>,
}

impl Replicas {
    /// Connects to each of `urls`.
    pub(crate) async fn connect(urls: &[String]) -> Result<Replicas> {
        let mut replicas = Vec::new();
        for url in urls {
            let conn = Conn::connect(url, Duration::from_secs(10), Duration::from_secs(5)).await?;
            replicas.push((redact(url), conn));
        }
        Ok(Replicas {
            replicas,
            written: std::collections::VecDeque::new(),
        })
    }

    /// The worst lag: the primary's own answer where the engine has one,
    /// else the worst of the replicas' (None: a replica whose replication
    /// is stopped, which counts as lagging without end).
    pub(crate) async fn lag(&mut self, primary: &mut Conn) -> Result<Option<Duration>> {
        let mut worst = Duration::ZERO;
        if let Some(sql) = primary.engine().replica_lag_sql() {
            let rows = primary
                .fetch_text(sql)
                .await
                .map_err(|source| Error::Database {
                    action: "reading the replicas' lag from pg_stat_replication".to_owned(),
                    source,
                })?;
            let row = rows.into_iter().next().unwrap_or_default();
            let number = |i: usize| {
                row.get(i)
                    .cloned()
                    .flatten()
                    .and_then(|text| text.parse::<u128>().ok())
            };
            let (end, replayed, standbys) = (number(0), number(1), number(2).unwrap_or(0));
            let now = std::time::Instant::now();
            if standbys == 0 {
                self.written.clear();
            } else if let Some(end) = end {
                if self.written.back().is_none_or(|&(_, last)| last < end) {
                    self.written.push_back((now, end));
                }
                let replayed = replayed.unwrap_or(u128::MAX);
                while self.written.front().is_some_and(|&(_, at)| at <= replayed) {
                    self.written.pop_front();
                }
                worst = self
                    .written
                    .front()
                    .map_or(Duration::ZERO, |&(since, _)| now - since);
            }
        }
        for (url, replica) in &mut self.replicas {
            let Some((statements, columns)) = replica.engine().replica_status() else {
                continue;
            };
            let mut answer = None;
            let mut last_error = None;
            for sql in statements {
                match replica.fetch_named(sql, columns).await {
                    Ok(delay) => {
                        answer = Some(delay);
                        break;
                    }
                    Err(error) => last_error = Some(error),
                }
            }
            match (answer, last_error) {
                (Some(Some(Some(delay))), _) => worst = worst.max(seconds(Some(delay))),
                // NULL: the replica's replication is stopped.
                (Some(Some(None)), _) => {
                    tracing::warn!(replica = %url, "the replica reports no delay: its replication is stopped");
                    return Ok(None);
                }
                (Some(None), _) => {
                    tracing::warn!(replica = %url, "this server is not a replica; its lag is not watched");
                }
                (None, Some(source)) => {
                    return Err(Error::Database {
                        action: format!("reading the replication status of {url}"),
                        source,
                    });
                }
                (None, None) => {}
            }
        }
        Ok(Some(worst))
    }

    /// Disconnects from the replicas.
    pub(crate) async fn close(self) {
        for (_, conn) in self.replicas {
            conn.close().await;
        }
    }
}

fn seconds(text: Option<String>) -> Duration {
    text.and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
        .map_or(Duration::ZERO, Duration::from_secs_f64)
}
