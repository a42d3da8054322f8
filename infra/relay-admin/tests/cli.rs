//! `relay-admin`'s command line (#35): bad arguments get one clear line on stderr and exit 2,
//! before anything reaches AWS; `help` lists the commands.

use std::process::Command;

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_relay-admin"))
        .args(args)
        // Nowhere to reach: a command that got past its arguments would fail, not exit 2.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .expect("run relay-admin");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn bad_arguments_get_one_line_and_exit_2() {
    for (args, says) in [
        (&["frobnicate"][..], "unknown command"),
        (&["keys", "create"][..], "--account is required"),
        (
            &["keys", "revoke", "--account", "acme"][..],
            "--kid is required",
        ),
        (&["token", "--account"][..], "--account needs a value"),
        (
            &["create-account", "--account", "a", "--account", "b"][..],
            "given twice",
        ),
        (
            &["create-account", "--account", "acme", "--colour", "red"][..],
            "unknown option --colour",
        ),
        (&["redrive", "nowhere"][..], "no queue"),
        (
            &[
                "token",
                "--account",
                "a",
                "--kid",
                "k",
                "--role",
                "root",
                "--sub",
                "x",
            ][..],
            "--role is end_user, agent or admin",
        ),
    ] {
        let (code, stdout, stderr) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {stdout}{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
    }
    // Positive control: help lists every command and succeeds.
    let (code, stdout, _) = run(&["help"]);
    assert_eq!(code, Some(0));
    for command in [
        "create-account",
        "keys create",
        "token",
        "redrive",
        "doctor",
    ] {
        assert!(stdout.contains(command), "{stdout}");
    }
}
