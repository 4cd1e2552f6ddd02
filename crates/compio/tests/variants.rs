//! Every declared variant on the smoke profile at W = 1, 2 and 3 (uneven shares), through the
//! testkit's `check`, and every outcome noting the IO driver its runtimes used.

use shootout_compio::{BACKEND, DRIVER_FACT, driver};
use shootout_suite::{Family, TaskId};
use shootout_testkit::{cell, check, server, smoke};

#[test]
fn every_variant_matches_the_reference_and_notes_its_driver() {
    BACKEND.check().unwrap();
    let server = server();
    let expected = driver().expect("a compio runtime reports its driver");
    assert!(["io-uring", "poll"].contains(&expected), "{expected}");
    for id in TaskId::ALL {
        for variant in BACKEND.support(id).variants() {
            let addr = (id.family() == Family::Fanout).then(|| server.addr());
            for workers in [1, 2, 3] {
                for outcome in check(&BACKEND, &cell(smoke(id), variant.name, workers, addr)) {
                    let noted: Vec<&str> = outcome
                        .facts
                        .iter()
                        .filter(|(name, _)| *name == DRIVER_FACT)
                        .map(|(_, value)| value.as_str())
                        .collect();
                    assert_eq!(noted, [expected], "{id} {} W={workers}", variant.name);
                }
            }
        }
    }
}

#[test]
fn the_driver_is_one_of_the_two_known() {
    let driver = driver().unwrap();
    assert!(driver == "io-uring" || driver == "poll", "{driver}");
    eprintln!("compio io driver here: {driver}");
}
