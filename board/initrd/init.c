/*
 * The disk image's tiny initrd: /init, run by the kernel before any disk is readable.
 * Debian's kernel has the drivers of the root (ext4, virtio_blk, the Pi's SD host
 * controllers) as modules, so something must load them before the root can be mounted:
 * this does only that, then hands PID 1 over to the root's /sbin/init (hearth).
 *
 *   1. mounts devtmpfs on /dev and proc on /proc (to read the command line);
 *   2. loads each module listed in /etc/initrd-modules (dependencies first, as the image
 *      builder wrote them) with finit_module;
 *   3. waits for root= to appear (rootwait: for ever, else 30 s), mounts it on /root as
 *      rootfstype= (ext4) with rootflags=, read-only unless rw comes after any ro;
 *   4. deletes its own files (they are in RAM), moves /dev onto the new root, unmounts
 *      /proc, makes /root the root (MS_MOVE + chroot) and executes init= (/sbin/init)
 *      with the arguments the kernel gave this program.
 *
 * Statically linked, no shell: a failure is printed and the program exits, which the
 * kernel turns into a panic (with panic=-1 the board resets).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NEW_ROOT "/root"

static void fail(const char *what, const char *arg) {
    fprintf(stderr, "initrd: %s %s: %s\n", what, arg ? arg : "", strerror(errno));
    exit(1);
}

/* The value of KEY= on the command line (the last one wins), or NULL. */
static char cmdline[4096];
static const char *param(const char *key, char *buf, size_t size) {
    const char *found = NULL;
    size_t klen = strlen(key);
    for (const char *p = cmdline; *p;) {
        while (*p == ' ' || *p == '\n') p++;
        const char *end = p;
        while (*end && *end != ' ' && *end != '\n') end++;
        if ((size_t)(end - p) > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
            size_t n = (size_t)(end - p) - klen - 1;
            if (n >= size) n = size - 1;
            memcpy(buf, p + klen + 1, n);
            buf[n] = 0;
            found = buf;
        }
        p = end;
    }
    return found;
}
/* Where WORD last stands alone on the command line (+1), or 0. */
static size_t last_word(const char *word) {
    size_t n = strlen(word), at = 0;
    for (const char *p = cmdline; (p = strstr(p, word)) != NULL; p += n)
        if ((p == cmdline || p[-1] == ' ') && (p[n] == 0 || p[n] == ' ' || p[n] == '\n')) at = (size_t)(p - cmdline) + 1;
    return at;
}

static void load_modules(void) {
    FILE *list = fopen("/etc/initrd-modules", "r");
    if (!list) return;
    char path[512];
    while (fgets(path, sizeof path, list)) {
        path[strcspn(path, "\n")] = 0;
        if (!path[0]) continue;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) fail("open", path);
        if (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST) fail("finit_module", path);
        close(fd);
    }
    fclose(list);
}

/* Removes the initrd's files (not the mount points of other file systems under it). */
static void delete_tree(int dirfd, dev_t dev) {
    DIR *dir = fdopendir(dirfd);
    if (!dir) return;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        struct stat st;
        if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_dev != dev) continue;
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub >= 0) delete_tree(sub, dev);
            unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
        } else {
            unlinkat(dirfd, e->d_name, 0);
        }
    }
    closedir(dir);
}

int main(int argc, char **argv) {
    (void)argc;
    if (mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755") != 0 && errno != EBUSY) fail("mount", "/dev");
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) fail("mount", "/proc");
    int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("open", "/proc/cmdline");
    ssize_t n = read(fd, cmdline, sizeof cmdline - 1);
    close(fd);
    cmdline[n > 0 ? n : 0] = 0;

    load_modules();

    char root[256], type[64], flags[512], init[256];
    if (!param("root", root, sizeof root)) { errno = EINVAL; fail("no root= on the kernel command line", NULL); }
    if (!param("rootfstype", type, sizeof type)) strcpy(type, "ext4");
    if (!param("rootflags", flags, sizeof flags)) flags[0] = 0;
    if (!param("init", init, sizeof init)) strcpy(init, "/sbin/init");
    unsigned long mflags = last_word("rw") > last_word("ro") ? 0 : MS_RDONLY; /* the kernel's default: ro */

    int forever = last_word("rootwait") != 0;
    struct timespec tick = { 0, 20 * 1000 * 1000 };
    for (int i = 0; access(root, F_OK) != 0; i++) {
        if (i == 50) fprintf(stderr, "initrd: waiting for %s\n", root);
        if (!forever && i >= 1500) { errno = ENODEV; fail("no root device", root); }
        nanosleep(&tick, NULL);
    }
    if (mount(root, NEW_ROOT, type, mflags, flags) != 0) fail("mount", root);

    struct stat rootst;
    if (stat("/", &rootst) == 0) delete_tree(open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC), rootst.st_dev);
    if (mount("/dev", NEW_ROOT "/dev", NULL, MS_MOVE, NULL) != 0) fail("move /dev to", NEW_ROOT "/dev");
    umount2("/proc", MNT_DETACH);
    if (chdir(NEW_ROOT) != 0) fail("chdir", NEW_ROOT);
    if (mount(".", "/", NULL, MS_MOVE, NULL) != 0) fail("move", NEW_ROOT);
    if (chroot(".") != 0 || chdir("/") != 0) fail("chroot", NEW_ROOT);
    argv[0] = init;
    execv(init, argv);
    fail("exec", init);
}
