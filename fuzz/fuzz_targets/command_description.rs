//! Describing a command from hostile argv, environment and working directory.
//! Only the description and its validation run here: nothing is ever spawned,
//! so the fuzzer cannot start programs, leak processes or touch the file system.

#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::time::Duration;

use arbitrary::Arbitrary;
use gazette_runner_core::{Command, CommandError};
use libfuzzer_sys::fuzz_target;

/// Byte slices rather than `OsString`, whose `Arbitrary` goes through `String`
/// and so never yields the invalid UTF-8 a Ruby caller can pass.
/// fuzz/seeds.rb encodes seeds for this layout; keep the two in step.
#[derive(Arbitrary, Debug)]
struct Description<'a> {
    argv: Vec<Bytes<'a>>,
    timeout: Duration,
    env: Vec<(Bytes<'a>, Option<Bytes<'a>>)>,
    cwd: Option<Bytes<'a>>,
}

/// Decodes exactly as `&[u8]` does; only here so that `cargo fuzz fmt` shows
/// a reproducer as `b"a\x00b"` instead of one number per line.
#[derive(Arbitrary, Clone, Copy)]
struct Bytes<'a>(&'a [u8]);

impl std::fmt::Debug for Bytes<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

fn os(bytes: &[u8]) -> OsString {
    OsString::from_vec(bytes.to_vec())
}

fn has_nul(bytes: &[u8]) -> bool {
    bytes.contains(&0)
}

fn argv_bytes(command: &Command) -> Vec<&[u8]> {
    command.argv().iter().map(|a| a.as_bytes()).collect()
}

fn argv_of<'a>(input: &Description<'a>) -> Vec<&'a [u8]> {
    input.argv.iter().map(|&Bytes(a)| a).collect()
}

fn working_dir_bytes(command: &Command) -> Option<Vec<u8>> {
    command
        .working_dir()
        .map(|d| d.as_os_str().as_bytes().to_vec())
}

fuzz_target!(|input: Description<'_>| {
    let Some(mut command) = check_new(&input) else {
        return;
    };
    for &(Bytes(name), value) in &input.env {
        check_env(&mut command, name, value.map(|Bytes(v)| v));
    }
    if let Some(Bytes(dir)) = input.cwd {
        check_cwd(&mut command, dir);
    }
    // Later settings must not disturb what `new` recorded.
    assert_eq!(argv_bytes(&command), argv_of(&input));
    assert_eq!(command.timeout(), input.timeout);
});

/// `new` must refuse exactly the argv/timeout a spawn could not honour, and
/// blame something that is really wrong, whichever check happens to run first.
fn check_new(input: &Description<'_>) -> Option<Command> {
    let argv = argv_of(input);
    let empty = argv.is_empty();
    let nul = argv.iter().any(|a| has_nul(a));
    let zero = input.timeout.is_zero();
    let result = Command::new(argv.iter().map(|a| os(a)), input.timeout);
    match result {
        Ok(command) => {
            assert!(!empty, "empty argv accepted");
            assert!(!nul, "argv with a NUL byte accepted");
            assert!(!zero, "zero timeout accepted");
            assert_eq!(argv_bytes(&command), argv);
            assert_eq!(command.timeout(), input.timeout);
            assert_eq!(command.working_dir(), None);
            Some(command)
        }
        Err(CommandError::EmptyArgv) => {
            assert!(empty, "EmptyArgv for a non-empty argv");
            None
        }
        Err(CommandError::Nul(what)) => {
            assert_eq!(what, "argv element");
            assert!(nul, "NUL reported for an argv without one");
            None
        }
        Err(CommandError::ZeroTimeout) => {
            assert!(zero, "ZeroTimeout for {:?}", input.timeout);
            None
        }
        Err(error) => panic!("Command::new failed with {error:?}"),
    }
}

/// A rejected variable must be reported as the right fault and leave the
/// description as it was, so a caller can go on with a usable command.
fn check_env(command: &mut Command, name: &[u8], value: Option<&[u8]>) {
    let bad_name = name.is_empty() || name.contains(&b'=');
    let nul_name = has_nul(name);
    let nul_value = value.is_some_and(has_nul);
    let before = format!("{command:?}");
    match command.env(os(name), value.map(os)) {
        Ok(_) => {
            assert!(!bad_name, "env name {name:?} accepted");
            assert!(!nul_name, "env name with a NUL byte accepted");
            assert!(!nul_value, "env value with a NUL byte accepted");
        }
        Err(error) => {
            match &error {
                CommandError::BadEnvName(shown) => {
                    assert!(bad_name, "BadEnvName for {name:?}");
                    assert_eq!(shown, &String::from_utf8_lossy(name));
                }
                CommandError::Nul("environment variable name") => assert!(nul_name),
                CommandError::Nul("environment variable value") => assert!(nul_value),
                other => panic!("env({name:?}, {value:?}) failed with {other:?}"),
            }
            assert_eq!(
                format!("{command:?}"),
                before,
                "{error} changed the command"
            );
        }
    }
}

fn check_cwd(command: &mut Command, dir: &[u8]) {
    let before = working_dir_bytes(command);
    match command.cwd(os(dir)) {
        Ok(_) => {
            assert!(!has_nul(dir), "working directory with a NUL byte accepted");
            assert_eq!(working_dir_bytes(command).as_deref(), Some(dir));
        }
        Err(error) => {
            assert_eq!(error, CommandError::Nul("working directory"));
            assert!(has_nul(dir), "{error} for {dir:?}");
            assert_eq!(
                working_dir_bytes(command),
                before,
                "a refused cwd changed the command"
            );
        }
    }
}
