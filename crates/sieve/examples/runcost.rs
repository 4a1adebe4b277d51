//! Times a run of a script over a message: `runcost SCRIPT MESSAGE` (development aid
//! for the Sieve benchmark, bench/sieve).
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let script = std::fs::read(&args[1]).unwrap();
    let msg = std::fs::read(&args[2]).unwrap();
    let s = pillarbox_sieve::compile(&script, &Default::default()).unwrap();
    let mut input = pillarbox_sieve::Input::new(&msg, "sender@client.test", "user1@bench.test");
    input.now = 1_700_000_000;
    let n = 20000;
    let t = std::time::Instant::now();
    for _ in 0..n {
        let o = s.run(&input, &mut pillarbox_sieve::NoHost).unwrap();
        std::hint::black_box(o);
    }
    println!("run: {:.1} us", t.elapsed().as_secs_f64() * 1e6 / n as f64);
}
