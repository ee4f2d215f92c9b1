//! The build-script API: `compile` for the common case, `Builder` for the rest.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::diag::{Diag, Diags};
use crate::ir::TableIr;
use crate::span::Span;

/// One spec file after checking.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The spec's path, as given.
    pub path: String,
    /// The spec's text.
    pub source: String,
    /// The tables that passed their checks (none when the spec has errors).
    pub tables: Vec<TableIr>,
    /// The pipelines that passed their checks (none when the spec has errors).
    pub pipelines: Vec<crate::ir::PipelineIr>,
    /// Every diagnostic, in source order.
    pub diags: Vec<Diag<Span>>,
}

impl Checked {
    /// How many diagnostics are errors.
    pub fn error_count(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }
    /// How many diagnostics are warnings.
    pub fn warning_count(&self) -> usize {
        self.diags.len() - self.error_count()
    }
    /// The diagnostics, rendered like rustc's.
    pub fn render(&self, color: bool) -> String {
        crate::render::render(&self.path, &self.source, &self.diags, color)
    }
}

/// Checks a spec's text. Pure: no I/O.
pub fn check_source(path: &str, source: &str) -> Checked {
    let mut diags: Diags<Span> = Diags::default();
    let (mut tables, mut pipelines) = (Vec::new(), Vec::new());
    match crate::parse::yaml::parse(source) {
        Err((msg, span)) => diags.push(Diag::error(span, format!("invalid YAML: {msg}")).label("here")),
        Ok(doc) => {
            let inputs = crate::parse::spec::tables(&doc, &mut diags);
            tables = crate::check::tables(&inputs, &mut diags);
            let pipeline_inputs = crate::parse::spec::pipelines(&doc, &mut diags);
            pipelines = crate::check::pipelines::check_all(&pipeline_inputs, &inputs, &tables, source, &mut diags);
            crate::check::distinct_type_names(&inputs, &mut diags);
        }
    }
    let mut items = diags.items;
    items.sort_by_key(|d| d.span.start);
    let failed = items.iter().any(|d| d.is_error());
    if failed {
        tables.clear();
        pipelines.clear();
    }
    Checked { path: path.to_string(), source: source.to_string(), tables, pipelines, diags: items }
}

/// Generates the Rust source for checked specs. Pure: no I/O.
pub fn generate(checked: &[Checked]) -> String {
    let tables: Vec<TableIr> = checked.iter().flat_map(|c| c.tables.iter().cloned()).collect();
    let pipelines: Vec<crate::ir::PipelineIr> = checked.iter().flat_map(|c| c.pipelines.iter().cloned()).collect();
    let sources = checked.iter().map(|c| c.path.as_str()).collect::<Vec<_>>().join(", ");
    crate::emit::file(&tables, &pipelines, &sources)
}

/// Spec errors (rendered), or an I/O problem.
pub struct Error {
    rendered: String,
    errors: usize,
}

impl Error {
    /// How many errors were found.
    pub fn error_count(&self) -> usize {
        self.errors
    }
    /// The errors, rendered like rustc's.
    pub fn rendered(&self) -> &str {
        &self.rendered
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rendered)
    }
}

// `fn main() -> Result<(), Box<dyn Error>>` prints the error with Debug, so
// Debug shows the rendered diagnostics, not a struct dump.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\n{}", self.rendered)
    }
}

impl std::error::Error for Error {}

/// Compiles specs into `$OUT_DIR/kinesis_tables.rs`. For build scripts.
pub fn compile(specs: &[impl AsRef<Path>]) -> Result<(), Error> {
    Builder::new().compile(specs).map(|_| ())
}

/// Configures code generation.
#[derive(Debug, Clone)]
pub struct Builder {
    out_dir: Option<PathBuf>,
    file_name: String,
    rerun_if_changed: bool,
    color: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// A builder with the defaults: `$OUT_DIR/kinesis_tables.rs`, `rerun-if-changed` printed, no color.
    pub fn new() -> Self {
        Builder { out_dir: None, file_name: "kinesis_tables.rs".into(), rerun_if_changed: true, color: false }
    }
    /// Where to write (default: `$OUT_DIR`).
    pub fn out_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.out_dir = Some(dir.into());
        self
    }
    /// The generated file's name (default: `kinesis_tables.rs`).
    pub fn file_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.file_name = name.into();
        self
    }
    /// Print `cargo:rerun-if-changed` for each spec (default: true).
    pub fn emit_rerun_if_changed(&mut self, yes: bool) -> &mut Self {
        self.rerun_if_changed = yes;
        self
    }
    /// Color the rendered diagnostics (default: false; cargo shows build-script output verbatim).
    pub fn color(&mut self, yes: bool) -> &mut Self {
        self.color = yes;
        self
    }

    /// Checks every spec, then writes one file with all their tables.
    /// The file is rewritten only when its content changes.
    pub fn compile(&self, specs: &[impl AsRef<Path>]) -> Result<PathBuf, Error> {
        let mut checked = Vec::new();
        let mut rendered = String::new();
        let mut errors = 0;
        for spec in specs {
            let path = spec.as_ref();
            if self.rerun_if_changed {
                println!("cargo:rerun-if-changed={}", path.display());
            }
            let source = match std::fs::read_to_string(path) {
                Ok(s) => s,
                Err(e) => {
                    errors += 1;
                    rendered.push_str(&format!("error: cannot read spec `{}`: {e}\n", path.display()));
                    continue;
                }
            };
            let c = check_source(&path.display().to_string(), &source);
            errors += c.error_count();
            if !c.diags.is_empty() {
                let text = c.render(self.color);
                if c.error_count() == 0 {
                    for line in text.lines() {
                        println!("cargo:warning={line}");
                    }
                } else {
                    rendered.push_str(&text);
                }
            }
            checked.push(c);
        }
        if errors > 0 {
            rendered.push_str(&format!(
                "error: kinesis-tables found {errors} error{} in the spec{}\n",
                if errors == 1 { "" } else { "s" },
                if specs.len() == 1 { "" } else { "s" }
            ));
            return Err(Error { rendered, errors });
        }
        let code = generate(&checked);
        let dir = match &self.out_dir {
            Some(d) => d.clone(),
            None => match std::env::var_os("OUT_DIR") {
                Some(d) => PathBuf::from(d),
                None => {
                    return Err(Error {
                        rendered: "error: OUT_DIR is not set; call compile() from a build script or set Builder::out_dir\n".into(),
                        errors: 1,
                    });
                }
            },
        };
        let out = dir.join(&self.file_name);
        write_if_changed(&out, &code)
            .map_err(|e| Error { rendered: format!("error: cannot write `{}`: {e}\n", out.display()), errors: 1 })?;
        Ok(out)
    }
}

/// Writes a file only when its content differs, so dependent crates are not rebuilt for nothing.
pub fn write_if_changed(path: &Path, content: &str) -> std::io::Result<bool> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == content) {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension("rs.tmp");
    std::fs::write(&tmp, content)?;
    std::fs::rename(&tmp, path)?;
    Ok(true)
}
