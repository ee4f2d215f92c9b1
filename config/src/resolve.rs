//! Resolution of a table's options: per-option checks, cross-field rules,
//! then the typed configuration. The compiler runs it at build time; the
//! runtime runs it again at startup when values come from `${ENV}`.

use crate::diag::Diags;
use crate::model::TableConfig;
use crate::opts::{OptionInput, Opts};
use crate::value::RawValue;
use crate::{options, rules, typed};

/// What resolution produces for code generation.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub config: TableConfig,
    /// `(key, value as written)` for every option, `${ENV}` references included,
    /// so the runtime can re-resolve when any value comes from the environment.
    pub raw: Vec<(String, String)>,
    /// `(key, variable)` for every `${ENV}` value.
    pub env_refs: Vec<(String, String)>,
}

/// Validates a table's options and resolves them. Every problem goes to `diags`.
pub fn resolve<S: Clone>(inputs: &[OptionInput<S>], whole: &S, partitioned_by: Option<S>, diags: &mut Diags<S>) -> Option<Resolved> {
    let connector = options::find_connector(inputs, whole, diags);
    let entries = options::check_all(inputs, connector, diags);
    let written = inputs.iter().map(|i| i.key.clone()).collect();
    let opts = Opts { connector, written, entries, whole: whole.clone(), partitioned_by };
    connector?;
    rules::check(&opts, diags);
    if diags.has_errors() {
        return None;
    }
    let config = typed::build(&opts);
    let raw = inputs.iter().map(|i| (i.key.clone(), i.value.text().unwrap_or_default())).collect();
    let env_refs = opts.entries.iter().filter_map(|e| e.env.clone().map(|v| (e.input.key.clone(), v))).collect();
    Some(Resolved { config, raw, env_refs })
}

/// Resolves a table's options at startup, after substituting `${ENV}`
/// references from `lookup`. Runs exactly the rules the compiler ran.
pub fn resolve_at_startup(
    raw: &[(&str, &str)],
    partitioned: bool,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<TableConfig, Vec<String>> {
    let mut errors = Vec::new();
    let mut inputs = Vec::new();
    for (key, text) in raw {
        let value = RawValue::Str(text.to_string());
        match value.env_ref() {
            Some(Ok(var)) => match lookup(var) {
                Some(v) => {
                    inputs.push(OptionInput { key: key.to_string(), key_span: (), value: RawValue::Str(v), value_span: (), from_env: true })
                }
                None => errors.push(format!("option `{key}` reads environment variable `{var}`, which is not set")),
            },
            _ => inputs.push(OptionInput { key: key.to_string(), key_span: (), value, value_span: (), from_env: false }),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut diags = Diags::default();
    let resolved = resolve(&inputs, &(), partitioned.then_some(()), &mut diags);
    let errs: Vec<String> = diags.items.iter().filter(|d| d.is_error()).map(|d| d.to_string()).collect();
    match resolved {
        Some(r) if errs.is_empty() => Ok(r.config),
        _ => Err(errs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;
    use crate::model::Credentials;
    use crate::value;

    #[test]
    fn every_default_is_valid() {
        for o in catalog::OPTIONS {
            if let Some(d) = o.default {
                assert!(value::check(&o.kind, &RawValue::Str(d.into())).is_ok(), "default of {} does not parse: {d}", o.key);
            }
        }
    }

    #[test]
    fn equivalents_point_both_ways() {
        for o in catalog::OPTIONS {
            if let Some(eq) = o.equivalent {
                let other = catalog::find(eq).unwrap_or_else(|| panic!("{} names missing {eq}", o.key));
                assert_eq!(other.equivalent, Some(o.key), "{eq} does not point back to {}", o.key);
                assert_eq!(o.connectors & other.connectors, 0);
            }
        }
    }

    fn opts(pairs: &[(&str, &str)]) -> Result<TableConfig, Vec<String>> {
        resolve_at_startup(pairs, false, |v| (v == "SECRET").then(|| "s3cr3t".to_string()))
    }

    #[test]
    fn resolves_env_at_startup() {
        let cfg = opts(&[
            ("connector", "kinesis"),
            ("stream.arn", "arn:aws:kinesis:us-east-1:012345678901:stream/s"),
            ("aws.region", "us-east-1"),
            ("format", "json"),
            ("aws.credentials.provider", "BASIC"),
            ("aws.credentials.basic.accesskeyid", "${SECRET}"),
            ("aws.credentials.basic.secretkey", "${SECRET}"),
        ])
        .unwrap();
        assert!(matches!(cfg.aws.credentials, Credentials::Basic { ref secret_key, .. } if secret_key.0 == "s3cr3t"));
        let err = opts(&[("connector", "kinesis"), ("aws.credentials.basic.secretkey", "${MISSING}")]).unwrap_err();
        assert!(err[0].contains("MISSING"), "{err:?}");
    }
}
