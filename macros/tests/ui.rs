//! The derive enforces the same rules as specs, with errors on the offending literal.

#[test]
fn derive_ui() {
    let t = trybuild::TestCases::new();
    t.pass("ui/pass/*.rs");
    t.compile_fail("ui/fail/*.rs");
}
