//! Database URLs: how to print them without a password, and the default one.

/// Returns the URL with any password replaced by `***`, for errors and logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            let secret_params = parsed
                .query_pairs()
                .any(|(key, _)| key.eq_ignore_ascii_case("password"));
            if secret_params {
                let pairs: Vec<(String, String)> = parsed
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if k.eq_ignore_ascii_case("password") {
                            "***".into()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
            }
            parsed.to_string()
        }
        // Not a URL we understand: show only the scheme, never the rest.
        Err(_) => match url.split_once(':') {
            Some((scheme, _)) if !scheme.contains('@') => format!("{scheme}:<redacted>"),
            _ => "<redacted>".to_owned(),
        },
    }
}

/// Removes the password of `url` from `text`, wherever a driver may have echoed it.
pub(crate) fn scrub(text: &str, url: &str) -> String {
    match url::Url::parse(url)
        .ok()
        .and_then(|u| u.password().map(str::to_owned))
    {
        Some(password) if !password.is_empty() => text.replace(&password, "***"),
        _ => text.to_owned(),
    }
}

/// The URL used when no other is given (`--database-url`, `DATABASE_URL`,
/// `.env`): a SQLite file named after the running binary, in the working
/// directory.
pub fn default_database_url() -> String {
    let name = std::env::current_exe()
        .ok()
        .and_then(|path| {
            path.file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "cofferdam".to_owned());
    format!("sqlite://{name}.db?mode=rwc")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_password_in_userinfo_and_query() {
        let url = redact("postgres://app:s3cret@db:5432/app");
        assert!(!url.contains("s3cret"), "{url}");
        assert!(url.contains("app:***@db"), "{url}");
        let url = redact("mysql://db/app?user=x&password=hunter2");
        assert!(!url.contains("hunter2"), "{url}");
    }

    #[test]
    fn garbage_is_not_echoed() {
        assert_eq!(redact("not a url with secret"), "<redacted>");
    }
}
