//! Per-option checks: each key is known, belongs to this connector, format
//! and reader, is not rejected, and its value fits its kind.

use crate::catalog::{self, Connectors, Kind, LOCAL, OptionDef, Reader, keys};
use crate::diag::{Diag, Diags};
use crate::model::ConnectorKind;
use crate::opts::{Entry, OptionInput};
use crate::value;

/// Checks every option of a table on its own; a key given twice is reported once.
pub(crate) fn check_all<'a, S: Clone>(
    inputs: &'a [OptionInput<S>],
    connector: Option<ConnectorKind>,
    diags: &mut Diags<S>,
) -> Vec<Entry<'a, S>> {
    let format = inputs.iter().find(|o| o.key == keys::FORMAT).and_then(|o| o.value.text());
    let reader_key = match connector {
        Some(ConnectorKind::KinesisLegacy) => keys::L_PUBLISHER,
        _ => keys::SRC_READER_TYPE,
    };
    let reader = inputs.iter().find(|o| o.key == reader_key).and_then(|o| o.value.text());
    let reader = match reader.as_deref() {
        Some("EFO") => Some(Reader::Efo),
        Some("POLLING") | None => Some(Reader::Polling),
        _ => None,
    };
    let mut entries = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for input in inputs {
        if seen.contains(&input.key.as_str()) {
            diags.push(Diag::error(input.key_span.clone(), format!("option `{}` is given twice", input.key)).label("duplicate option"));
            continue;
        }
        seen.push(&input.key);
        if let Some(e) = check_entry(input, connector, format.as_deref(), reader, diags) {
            entries.push(e);
        }
    }
    entries
}

pub(crate) fn find_connector<S: Clone>(inputs: &[OptionInput<S>], whole: &S, diags: &mut Diags<S>) -> Option<ConnectorKind> {
    let Some(input) = inputs.iter().find(|o| o.key == keys::CONNECTOR) else {
        diags.push(
            Diag::error(whole.clone(), "missing required option `connector`")
                .label("this table has no `connector`")
                .help("add `connector: kinesis` (or `kinesis-legacy`)"),
        );
        return None;
    };
    let text = input.value.text().unwrap_or_default();
    if let Some(c) = ConnectorKind::from_name(&text) {
        return Some(c);
    }
    let names = ConnectorKind::ALL.into_iter().map(ConnectorKind::name);
    let d = Diag::error(input.value_span.clone(), format!("unknown connector `{text}`"))
        .label("not a connector")
        .note("kinesis-tables supports `kinesis` and `kinesis-legacy` (streams), and `datagen`, `print` and `blackhole` (no AWS)");
    diags.push(match crate::suggest::closest(&text, names) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d,
    });
    None
}

/// The connector set an option is checked against: the table's connector,
/// or either Kinesis connector when the table names none.
fn connector_set(connector: Option<ConnectorKind>) -> Connectors {
    connector.map_or(catalog::BOTH, ConnectorKind::bit)
}

/// The name of a connector set in messages (the first of its connectors).
fn connector_name(set: Connectors) -> &'static str {
    catalog::connector_names(set).next().unwrap_or("kinesis")
}

/// The checks of one option, in order; each reports and refuses the option
/// (`None`) or lets it through, and the value is checked last.
struct EntryCheck<'i, 'd, S> {
    input: &'i OptionInput<S>,
    conn: Connectors,
    diags: &'d mut Diags<S>,
}

fn check_entry<'a, S: Clone>(
    input: &'a OptionInput<S>,
    connector: Option<ConnectorKind>,
    format: Option<&str>,
    reader: Option<Reader>,
    diags: &mut Diags<S>,
) -> Option<Entry<'a, S>> {
    let mut c = EntryCheck { input, conn: connector_set(connector), diags };
    c.not_a_producer_option()?;
    let (base, depth, def) = c.known()?;
    c.not_too_deep(depth)?;
    c.of_this_connector(def)?;
    c.not_rejected(def)?;
    c.of_this_format(def, format)?;
    c.of_this_reader(def, reader)?;
    c.value(def, base, depth)
}

impl<'i, S: Clone> EntryCheck<'i, '_, S> {
    fn refuse<T>(&mut self, d: Diag<S>) -> Option<T> {
        self.diags.push(d);
        None
    }

    fn key_error(&self, message: impl Into<String>) -> Diag<S> {
        Diag::error(self.input.key_span.clone(), message)
    }

    fn value_error(&self, message: impl Into<String>) -> Diag<S> {
        Diag::error(self.input.value_span.clone(), message)
    }

    fn not_a_producer_option(&mut self) -> Option<()> {
        let key = self.input.key.as_str();
        let Some(suffix) = key.strip_prefix(keys::SINK_PRODUCER_PREFIX) else { return Some(()) };
        let d = self
            .key_error(format!("`{key}` is a deprecated KPL producer option and is not supported"))
            .label("deprecated option")
            .note("the KPL-era `sink.producer.*` options were replaced by the `sink.*` options");
        self.refuse(match catalog::producer_replacement(suffix) {
            Some(r) => d.help(format!("use `{r}` instead")),
            None => d.help("remove it; run `kinesis-tables options` for the sink options"),
        })
    }

    fn known(&mut self) -> Option<(String, usize, &'static OptionDef)> {
        let key = self.input.key.as_str();
        let (base, depth) = match catalog::datagen_field_key(key) {
            Some((template, _)) => (template, 0),
            None => catalog::normalize_key(key),
        };
        let def = catalog::find(&base).filter(|d| depth == 0 || (d.section == catalog::Section::Auth && base != keys::CRED_PROVIDER));
        match def {
            Some(def) => Some((base, depth, def)),
            None => {
                unknown_key(self.input, self.conn, self.diags);
                None
            }
        }
    }

    fn not_too_deep(&mut self, depth: usize) -> Option<()> {
        if depth > 4 {
            return self.refuse(self.key_error("credential providers nest at most 4 deep").label("nested too deep"));
        }
        Some(())
    }

    fn of_this_connector(&mut self, def: &OptionDef) -> Option<()> {
        let (key, conn) = (self.input.key.as_str(), self.conn);
        if !def.applies_to(conn) && (conn & LOCAL != 0 || def.connectors & catalog::BOTH == 0) {
            let owners: Vec<String> = catalog::connector_names(def.connectors).map(|n| format!("`{n}`")).collect();
            let what = match conn {
                catalog::DATAGEN => "datagen generates typed rows itself: it has no stream, no AWS settings and no format",
                catalog::PRINT => "print writes rows to the terminal: it has no stream and no AWS settings",
                catalog::BLACKHOLE => "blackhole discards rows: it takes no options",
                _ => "this option belongs to a connector that runs without AWS",
            };
            let d = self
                .key_error(format!("`{key}` is not an option of `connector: {}`", connector_name(conn)))
                .label(format!("an option of {}", owners.join(", ")))
                .note(what)
                .help("remove it; run `kinesis-tables options` to list each connector's options");
            return self.refuse(d);
        }
        if !def.applies_to(conn) {
            let other = if conn == catalog::KINESIS { "kinesis-legacy" } else { "kinesis" };
            let d = self
                .key_error(format!("`{key}` is a `{other}` option, but this table uses `connector: {}`", connector_name(conn)))
                .label(format!("belongs to `{other}`"));
            return self.refuse(match def.equivalent {
                Some(eq) => d.help(format!("with `{}` write `{eq}`", connector_name(conn))),
                None => d.help(format!("`{}` has no equivalent; remove it", connector_name(conn))),
            });
        }
        Some(())
    }

    fn not_rejected(&mut self, def: &OptionDef) -> Option<()> {
        let Some(reason) = def.rejected else { return Some(()) };
        let d = self.key_error(format!("`{}` is not supported: {reason}", self.input.key)).label("cannot take effect").help("remove it");
        self.refuse(d)
    }

    fn of_this_format(&mut self, def: &OptionDef, format: Option<&str>) -> Option<()> {
        if let (Some(fmt), Some(own)) = (format, def.section.format())
            && fmt != own
            && catalog::FORMATS.contains(&fmt)
        {
            let d = self
                .key_error(format!("`{}` is a `{own}` format option, but this table's format is `{fmt}`", self.input.key))
                .label(format!("only applies to format `{own}`"))
                .help("remove it, or change `format`");
            return self.refuse(d);
        }
        Some(())
    }

    fn of_this_reader(&mut self, def: &OptionDef, reader: Option<Reader>) -> Option<()> {
        let Some(r) = reader else { return Some(()) };
        let (need, have) = match (def.reader, r) {
            (Reader::Efo, Reader::Polling) => ("EFO", "POLLING"),
            (Reader::Polling, Reader::Efo) => ("POLLING", "EFO"),
            _ => return Some(()),
        };
        let reader_key = if self.conn == catalog::LEGACY { keys::L_PUBLISHER } else { keys::SRC_READER_TYPE };
        let d = self
            .key_error(format!("`{}` only applies to the {need} reader, but this table reads with {have}", self.input.key))
            .label(format!("{need}-only option"))
            .help(format!("remove it, or set `{reader_key}: {need}`"));
        self.refuse(d)
    }

    /// The value: an `${ENV}` reference (left to startup) or a literal checked against its kind.
    fn value(mut self, def: &'static OptionDef, base: String, depth: usize) -> Option<Entry<'i, S>> {
        let input = self.input;
        if self.conn & LOCAL != 0 && input.value.env_ref().is_some() {
            let d = self
                .value_error(format!("`connector: {}` takes its options from the spec only", connector_name(self.conn)))
                .label("environment reference")
                .help("write the value itself");
            return self.refuse(d);
        }
        match input.value.env_ref() {
            Some(Ok(var)) => return Some(Entry { input, base, depth, def, value: None, env: Some(var.to_string()) }),
            Some(Err(msg)) => {
                let d = self.value_error(msg).label("bad environment reference");
                return self.refuse(d);
            }
            None => {}
        }
        self.no_literal_secret(def)?;
        match value::check(&def.kind, &input.value) {
            Ok(v) => Some(Entry { input, base, depth, def, value: Some(v), env: None }),
            Err(e) => {
                let d = self
                    .value_error(format!("invalid value for `{}`: {}", input.key, e.message))
                    .label(kind_label(&def.kind))
                    .help_opt(e.help);
                self.refuse(d)
            }
        }
    }

    fn no_literal_secret(&mut self, def: &OptionDef) -> Option<()> {
        if self.input.from_env {
            return Some(());
        }
        if def.secret {
            let d = self
                .value_error(format!("`{}` is a secret and must not be written in the spec", self.input.key))
                .label("literal secret")
                .note("a literal would be compiled into the binary, where anyone with `strings` can read it")
                .help("write an environment reference such as `${AWS_SECRET_ACCESS_KEY}`; it is read when the program starts");
            return self.refuse(d);
        }
        if self.input.value.text().is_some_and(|t| looks_like_access_key(&t)) {
            let d = self
                .value_error("this value looks like an AWS access key ID")
                .label("credential in the spec")
                .help("give credentials through the AWS provider chain or `${ENV_VAR}` references");
            return self.refuse(d);
        }
        Some(())
    }
}

fn looks_like_access_key(t: &str) -> bool {
    t.len() == 20 && (t.starts_with("AKIA") || t.starts_with("ASIA")) && t.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

fn kind_label(kind: &Kind) -> String {
    match kind {
        Kind::Int { .. } => "expected an integer".into(),
        Kind::Long { .. } => "expected an integer".into(),
        Kind::Bool => "expected a boolean".into(),
        Kind::Double { .. } => "expected a number".into(),
        Kind::Duration { .. } => "expected a duration".into(),
        Kind::Enum(_) => "not an allowed value".into(),
        _ => "invalid value".into(),
    }
}

fn unknown_key<S: Clone>(input: &OptionInput<S>, conn: Connectors, diags: &mut Diags<S>) {
    let key = input.key.as_str();
    let candidates = catalog::OPTIONS.iter().filter(|o| o.applies_to(conn) && o.rejected.is_none()).map(|o| o.key);
    let d = Diag::error(input.key_span.clone(), format!("unknown option `{key}`")).label("unknown option");
    let d = match crate::suggest::closest(key, candidates) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => {
            // Perhaps an option of the other connector, misspelt.
            let any = catalog::OPTIONS.iter().map(|o| o.key);
            match crate::suggest::closest(key, any) {
                Some(s) => d.help(format!("`{s}` is the closest option, but it does not apply to `connector: {}`", connector_name(conn))),
                None => d.help("run `kinesis-tables options` to list every option"),
            }
        }
    };
    diags.push(d);
}
