// systemd's named groups of system calls (SystemCallFilter=@system-service and the like),
// with the members systemd 247's src/shared/seccomp-util.c gives them and the few calls
// newer kernels added to the same groups (close_range, epoll_pwait2, faccessat2,
// fchmodat2, mount_setattr, process_madvise...). A group may name another ("@privileged"
// has "@clock"). Names an architecture lacks (open on arm64, the *32 and *_time64 calls
// of 32-bit ones) are skipped there, as systemd skips them.

const words = (text: string): string[] => text.split(/\s+/).filter((w) => w !== "");

export const SYSCALL_GROUPS: Readonly<Record<string, readonly string[]>> = {
  "@default": words(`clock_getres clock_gettime clock_nanosleep execve exit exit_group futex get_robust_list
    get_thread_area getegid geteuid getgid getgroups getpgid getpgrp getpid getppid getresgid getresuid
    getrlimit getsid gettid gettimeofday getuid membarrier nanosleep pause prlimit64 restart_syscall rseq
    rt_sigreturn sched_yield set_robust_list set_thread_area set_tid_address set_tls sigreturn time ugetrlimit`),
  "@aio": words("io_cancel io_destroy io_getevents io_pgetevents io_setup io_submit io_uring_enter io_uring_register io_uring_setup"),
  "@basic-io": words("_llseek close close_range dup dup2 dup3 lseek pread64 preadv preadv2 pwrite64 pwritev pwritev2 read readv write writev"),
  "@chown": words("chown chown32 fchown fchown32 fchownat lchown lchown32"),
  "@clock": words("adjtimex clock_adjtime clock_settime settimeofday stime"),
  "@cpu-emulation": words("modify_ldt subpage_prot switch_endian vm86 vm86old"),
  "@debug": words("lookup_dcookie perf_event_open pidfd_getfd ptrace rtas sys_debug_setcontext"),
  "@file-system": words(`access chdir chmod close creat faccessat faccessat2 fallocate fchdir fchmod fchmodat fchmodat2
    fcntl fcntl64 fgetxattr flistxattr fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 ftruncate
    ftruncate64 futimesat getcwd getdents getdents64 getxattr inotify_add_watch inotify_init inotify_init1
    inotify_rm_watch lgetxattr link linkat listxattr llistxattr lremovexattr lsetxattr lstat lstat64 mkdir mkdirat
    mknod mknodat mmap mmap2 munmap newfstatat oldfstat oldlstat oldstat open openat openat2 readlink readlinkat
    removexattr rename renameat renameat2 rmdir setxattr stat stat64 statfs statfs64 statx symlink symlinkat
    truncate truncate64 unlink unlinkat utime utimensat utimes`),
  "@io-event": words(`_newselect epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait
    epoll_wait_old eventfd eventfd2 poll ppoll pselect6 select`),
  "@ipc": words(`ipc memfd_create mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedsend mq_unlink msgctl msgget
    msgrcv msgsnd pipe pipe2 process_vm_readv process_vm_writev semctl semget semop semtimedop shmat shmctl shmdt shmget`),
  "@keyring": words("add_key keyctl request_key"),
  "@memlock": words("mlock mlock2 mlockall munlock munlockall"),
  "@module": words("delete_module finit_module init_module"),
  "@mount": words("chroot fsconfig fsmount fsopen fspick mount mount_setattr move_mount open_tree pivot_root umount umount2"),
  "@network-io": words(`accept accept4 bind connect getpeername getsockname getsockopt listen recv recvfrom recvmmsg
    recvmsg send sendmmsg sendmsg sendto setsockopt shutdown socket socketcall socketpair`),
  "@obsolete": words(`_sysctl afs_syscall bdflush break create_module ftime get_kernel_syms getpmsg gtty idle lock mpx
    prof profil putpmsg query_module security sgetmask ssetmask stty sysfs tuxcall ulimit uselib ustat vserver`),
  "@pkey": words("pkey_alloc pkey_free pkey_mprotect"),
  "@privileged": words(`@chown @clock @module @raw-io @reboot @swap _sysctl acct bpf capset chroot fanotify_init
    fanotify_mark nfsservctl open_by_handle_at pivot_root quotactl setdomainname setfsuid setfsuid32 setgroups
    setgroups32 sethostname setresuid setresuid32 setreuid setreuid32 setuid setuid32 vhangup`),
  "@process": words(`arch_prctl capget clone clone3 execveat fork getrusage kill pidfd_open pidfd_send_signal prctl
    rt_sigqueueinfo rt_tgsigqueueinfo setns swapcontext tgkill times tkill unshare vfork wait4 waitid waitpid`),
  "@raw-io": words("ioperm iopl pciconfig_iobase pciconfig_read pciconfig_write"),
  "@reboot": words("kexec_file_load kexec_load reboot"),
  "@resources": words(`ioprio_set mbind migrate_pages move_pages nice sched_setaffinity sched_setattr sched_setparam
    sched_setscheduler set_mempolicy setpriority setrlimit`),
  "@setuid": words(`setgid setgid32 setgroups setgroups32 setregid setregid32 setresgid setresgid32 setresuid
    setresuid32 setreuid setreuid32 setuid setuid32`),
  "@signal": words(`rt_sigaction rt_sigpending rt_sigprocmask rt_sigsuspend rt_sigtimedwait sigaction sigaltstack signal
    signalfd signalfd4 sigpending sigprocmask sigsuspend`),
  "@swap": words("swapoff swapon"),
  "@sync": words("fdatasync fsync msync sync sync_file_range sync_file_range2 syncfs"),
  "@timer": words(`alarm getitimer setitimer timer_create timer_delete timer_getoverrun timer_gettime timer_settime
    timerfd_create timerfd_gettime timerfd_settime times`),
  "@system-service": words(`@aio @basic-io @chown @default @file-system @io-event @ipc @keyring @memlock @network-io
    @process @resources @setuid @signal @sync @timer brk capget capset copy_file_range fadvise64 fadvise64_64 flock
    get_mempolicy getcpu getpriority getrandom ioctl ioprio_get kcmp madvise mprotect mremap name_to_handle_at
    oldolduname olduname personality process_madvise readahead readdir remap_file_pages sched_get_priority_max
    sched_get_priority_min sched_getaffinity sched_getattr sched_getparam sched_getscheduler sched_rr_get_interval
    sched_yield sendfile sendfile64 setfsgid setfsgid32 setfsuid setfsuid32 setpgid setsid splice sysinfo tee umask
    uname userfaultfd vmsplice`),
};

/** The system call names of a group or a name, groups opened recursively; null for an unknown group. */
export function expandSyscallName(name: string, seen = new Set<string>()): string[] | null {
  if (!name.startsWith("@")) return [name];
  const members = SYSCALL_GROUPS[name];
  if (!members) return null;
  if (seen.has(name)) return [];
  seen.add(name);
  return members.flatMap((member) => expandSyscallName(member, seen) ?? []);
}
