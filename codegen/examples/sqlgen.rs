fn main() {
    let path = std::env::args().nth(1).unwrap();
    let src = std::fs::read_to_string(&path).unwrap();
    let c = kinesis_tables_codegen::check_source(&path, &src);
    if c.error_count() > 0 {
        println!("{}", c.render(false));
        return;
    }
    println!("{}", kinesis_tables_codegen::generate(&[c]));
}
