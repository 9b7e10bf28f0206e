//! Compile-time behaviour of the macros: every misuse and every destructive
//! operation is a compile error with a message that says what to write, and
//! the cases that must compile do.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/migration/*.rs");
    cases.compile_fail("ui/test/*.rs");
    cases.compile_fail("ui/destructive/fail/*.rs");
    cases.pass("ui/destructive/pass/*.rs");
    // What `migrate new --autogenerate` writes for a dropped field: it
    // must not build until reviewed (kept equal to the generator's output
    // by tests/autogenerate.rs).
    cases.compile_fail("ui/autogenerate/*.rs");
    cases.compile_fail("ui/model/*.rs");
}
