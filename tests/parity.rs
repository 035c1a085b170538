//! Parity with the reference implementation, from fixtures made by `tools/peers/`.

use qabbadb::codec::compress::compress;

#[test]
fn same_pieces_as_fabba() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/fixtures/fabba_pieces.json"
    );
    let fixture: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert!(fixture["generator"]
        .as_str()
        .unwrap()
        .starts_with("tools/peers/make_fixtures.py"));
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 50);
    for (c, case) in cases.iter().enumerate() {
        let z: Vec<f64> = case["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let tol = case["tol_pkg"].as_f64().unwrap().sqrt();
        let expect: Vec<(u32, f64)> = case["pieces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_u64().unwrap() as u32, p[1].as_f64().unwrap()))
            .collect();
        let ours = compress(&z, tol, None);
        assert_eq!(
            ours.len(),
            expect.len(),
            "case {c} ({}): piece count",
            case["source"]
        );
        for (k, (p, e)) in ours.iter().zip(&expect).enumerate() {
            assert_eq!(p.len, e.0, "case {c} piece {k}: len");
            assert_eq!(p.inc, e.1, "case {c} piece {k}: inc");
        }
    }
}
