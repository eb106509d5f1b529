//! What Linux audit record types mean: which records only describe another (PATH, CWD,
//! ...), the severity of each type (README "Linux audit" shows the table), and the names of
//! the x86_64 syscalls that audit rules commonly watch.

/// Records that describe the event's main record rather than being an event of their own.
pub fn auxiliary(kind: &str) -> bool {
    matches!(
        kind,
        "PATH"
            | "CWD"
            | "PROCTITLE"
            | "EXECVE"
            | "SOCKADDR"
            | "BPRM_FCAPS"
            | "CAPSET"
            | "MMAP"
            | "FD_PAIR"
            | "OBJ_PID"
            | "IPC"
            | "SOCKETCALL"
            | "AVC_PATH"
            | "EOE"
    )
}

/// A severity rule: a record type (or a prefix ending in `*`), the severity of a success and
/// that of a failure or denial.
type SeverityRule = (&'static str, &'static str, &'static str);

/// The severity table, first match wins. The audit system's own configuration and state
/// (rules, daemon, MAC policy) matter most after anomalies: changing them hides what follows.
pub const SEVERITIES: &[SeverityRule] = &[
    ("ANOM_*", "high", "high"),
    ("RESP_*", "high", "high"),
    ("CONFIG_CHANGE", "high", "high"),
    ("DAEMON_CONFIG", "high", "high"),
    ("MAC_POLICY_LOAD", "high", "high"),
    ("MAC_STATUS", "high", "high"),
    ("MAC_CONFIG_CHANGE", "high", "high"),
    ("DAEMON_END", "medium", "medium"),
    ("DAEMON_ABORT", "high", "high"),
    ("AVC", "medium", "medium"),
    ("USER_AVC", "medium", "medium"),
    ("SELINUX_ERR", "medium", "medium"),
    ("USER_SELINUX_ERR", "medium", "medium"),
    ("ADD_USER", "medium", "medium"),
    ("DEL_USER", "medium", "medium"),
    ("ADD_GROUP", "medium", "medium"),
    ("DEL_GROUP", "medium", "medium"),
    ("USER_MGMT", "medium", "medium"),
    ("GRP_MGMT", "medium", "medium"),
    ("USER_CHAUTHTOK", "low", "medium"),
    ("GRP_CHAUTHTOK", "low", "medium"),
    ("CHUSER_ID", "medium", "medium"),
    ("CHGRP_ID", "medium", "medium"),
    ("USER_ROLE_CHANGE", "medium", "medium"),
    ("ROLE_*", "medium", "medium"),
    ("KERN_MODULE", "medium", "medium"),
    ("INTEGRITY_*", "medium", "medium"),
    ("USER_AUTH", "info", "medium"),
    ("USER_LOGIN", "info", "medium"),
    ("USER_ACCT", "info", "medium"),
    ("GRP_AUTH", "info", "medium"),
    ("USER_ERR", "medium", "medium"),
    ("USER_CMD", "low", "medium"),
    ("SYSCALL", "info", "low"),
];

/// The severity of an event of type `kind` with `outcome` (`success`, `failure`, `denied`).
pub fn severity(kind: &str, outcome: &str) -> &'static str {
    let rule = SEVERITIES
        .iter()
        .find(|(pattern, _, _)| match pattern.strip_suffix('*') {
            Some(prefix) => kind.starts_with(prefix),
            None => *pattern == kind,
        });
    match (rule, outcome) {
        (Some((_, ok, _)), "success") => ok,
        (Some((_, _, failed)), _) => failed,
        (None, "success") => "info",
        (None, _) => "low",
    }
}

/// x86_64 (`arch=c000003e`) syscall numbers of the calls audit rules commonly watch.
const X86_64: &[(u32, &str)] = &[
    (0, "read"),
    (1, "write"),
    (2, "open"),
    (4, "stat"),
    (9, "mmap"),
    (21, "access"),
    (41, "socket"),
    (42, "connect"),
    (43, "accept"),
    (49, "bind"),
    (50, "listen"),
    (56, "clone"),
    (57, "fork"),
    (58, "vfork"),
    (59, "execve"),
    (62, "kill"),
    (76, "truncate"),
    (77, "ftruncate"),
    (82, "rename"),
    (83, "mkdir"),
    (84, "rmdir"),
    (85, "creat"),
    (86, "link"),
    (87, "unlink"),
    (88, "symlink"),
    (90, "chmod"),
    (91, "fchmod"),
    (92, "chown"),
    (93, "fchown"),
    (94, "lchown"),
    (101, "ptrace"),
    (105, "setuid"),
    (106, "setgid"),
    (113, "setreuid"),
    (114, "setregid"),
    (117, "setresuid"),
    (119, "setresgid"),
    (160, "setrlimit"),
    (161, "chroot"),
    (165, "mount"),
    (166, "umount2"),
    (169, "reboot"),
    (170, "sethostname"),
    (175, "init_module"),
    (176, "delete_module"),
    (188, "setxattr"),
    (189, "lsetxattr"),
    (190, "fsetxattr"),
    (197, "removexattr"),
    (257, "openat"),
    (258, "mkdirat"),
    (260, "fchownat"),
    (263, "unlinkat"),
    (264, "renameat"),
    (265, "linkat"),
    (266, "symlinkat"),
    (268, "fchmodat"),
    (269, "faccessat"),
    (288, "accept4"),
    (313, "finit_module"),
    (316, "renameat2"),
    (322, "execveat"),
    (437, "openat2"),
];

/// The syscall's name: already a name (auoms, enriched logs) as it is; an x86_64 number
/// through the table; any other number (another architecture, a call not in the table) as
/// written.
pub fn syscall_name(arch: Option<&str>, syscall: &str) -> String {
    let Ok(number) = syscall.parse::<u32>() else {
        return syscall.to_string();
    };
    if arch.is_some_and(|a| a.eq_ignore_ascii_case("c000003e") || a == "x86_64")
        && let Some((_, name)) = X86_64.iter().find(|(n, _)| *n == number)
    {
        return name.to_string();
    }
    syscall.to_string()
}
