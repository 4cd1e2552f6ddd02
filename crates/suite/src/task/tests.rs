use super::*;

#[test]
fn names_parse_both_ways() {
    for id in TaskId::ALL {
        assert_eq!(TaskId::parse(id.short()), Some(id));
        assert_eq!(TaskId::parse(&id.name()), Some(id));
    }
    assert_eq!(TaskId::parse("nope"), None);
}

#[test]
fn every_profile_is_valid() {
    for id in TaskId::ALL {
        for profile in Profile::ALL {
            Task::new(id, profile).validate().unwrap();
        }
    }
}

#[test]
fn params_are_set_by_name_and_checked() {
    let mut task = Task::new(TaskId::Fib, Profile::Smoke);
    task.set("n", 10).unwrap();
    assert_eq!(task.get("n"), Some(10));
    assert!(
        task.set("depth", 1)
            .unwrap_err()
            .contains("no parameter named `depth`")
    );
    assert!(
        task.set("n", u64::MAX)
            .unwrap_err()
            .contains("out of range")
    );
    task.set("n", 60).unwrap();
    assert!(task.validate().unwrap_err().contains("too large"));
    assert_eq!(task.to_string(), "dnc/fib n=60 grain=12");
}

#[test]
fn zero_sizes_are_refused_where_they_make_no_sense() {
    for (id, name) in [
        (TaskId::Bounded, "capacity"),
        (TaskId::Bounded, "producers"),
        (TaskId::Crawl, "concurrency"),
        (TaskId::Scatter, "conns"),
        (TaskId::Semaphore, "permits"),
        (TaskId::Barrier, "width"),
    ] {
        let mut task = Task::new(id, Profile::Smoke);
        task.set(name, 0).unwrap();
        assert!(task.validate().is_err(), "{id} {name} = 0");
    }
}

#[test]
fn open_loop_schedule_is_evenly_spaced() {
    let mut crawl = Crawl::profile(Profile::Smoke);
    assert_eq!(crawl.scheduled_start(3), None);
    crawl.rate = 1000;
    assert_eq!(
        crawl.scheduled_start(3),
        Some(std::time::Duration::from_millis(3))
    );
}

#[test]
fn headline_words_come_from_the_spec() {
    assert_eq!(
        TaskId::Fib.spec().headline_words(),
        "speedup over sequential"
    );
    assert_eq!(TaskId::Bounded.spec().headline_words(), "items per second");
    assert_eq!(
        TaskId::Scatter.spec().headline_words(),
        "p50 / tail round latency"
    );
    assert_eq!(
        TaskId::Condition.spec().headline_words(),
        "p50 / tail round trip"
    );
}

#[test]
fn every_headline_parameter_exists() {
    for id in TaskId::ALL {
        let task = Task::new(id, Profile::Smoke);
        for name in id.spec().headline_params {
            assert!(task.get(name).is_some(), "{id} has no parameter {name}");
        }
    }
}
