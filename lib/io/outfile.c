/*
 * outfile.c: replacing a file atomically without destroying anything else
 * (sl_outfile_*). The contract is in include/sluice.h; this comment says how.
 *
 * Resolution. Everything below works relative to a descriptor of the
 * target's directory (openat, fstatat, renameat...), so no path longer than
 * one component is ever held: the struct keeps the directory's descriptor
 * and the final name (at most NAME_MAX bytes). A symbolic link is read into
 * a PATH_MAX buffer on the stack, split at its last '/', and its directory
 * opened relative to the link's own (an absolute link ignores it, as openat
 * does): so "state -> ../keep/s.st" replaces ../keep/s.st beside it. The
 * final component's type is checked with fstatat(AT_SYMLINK_NOFOLLOW):
 * regular or missing passes; a FIFO or a character device passes only in
 * through mode (opened in place, O_WRONLY without O_CREAT or O_TRUNC);
 * anything else is SL_ENOTREG with a static reason.
 *
 * The temporary. First open(dir, O_TMPFILE): an inode with no name, which
 * the kernel frees if the process dies, SIGKILL included. At commit it is
 * linked in as a named temporary (linkat AT_EMPTY_PATH, which needs
 * CAP_DAC_READ_SEARCH, else linkat of /proc/self/fd/N with
 * AT_SYMLINK_FOLLOW) and renamed over the target: the name exists for two
 * system calls. Where O_TMPFILE is refused (a file system without it) the
 * temporary is named from the start, and if no link works (no /proc) the
 * unnamed file is copied into a named one through a 4 KiB stack buffer.
 *
 * Names: ".NAME.sluice-tmp.PID.XXXXXX" (NAME cut so the whole fits
 * NAME_MAX; X from a splitmix64 of the time, pid and a counter), created
 * with O_EXCL. On open, the directory is listed with getdents64 into a
 * stack buffer (glibc's opendir would malloc outside the budget) and every
 * entry ".NAME.sluice-tmp.P.XXXXXX" whose P is not this process and for
 * which kill(P, 0) reports ESRCH is unlinked: it was left by a writer that
 * died between link and rename, or wrote without O_TMPFILE. A live pid, or
 * a pid in another pid namespace sharing the directory, keeps its file.
 *
 * Signal cleanup: each outfile that has (or is about to have) a named
 * temporary claims one of 16 static slots holding the directory descriptor
 * and the name; a slot is published with an atomic store after its fields
 * are written, and sl_outfile_signal_cleanup unlinks every published
 * slot's name (unlinkat is async-signal-safe). A handler that runs after
 * the rename finds the name gone (ENOENT), and the name is this process's
 * own, so the unlink can never hit another file. Without a free slot the
 * file is not covered; the stale-temporary sweep still removes it later.
 *
 * Mode and owner: the temporary is created with new_mode (the umask
 * applies); over an existing target it takes the target's owner and group
 * (fchown; EPERM is ignored: permitted only to root or for one's own
 * groups) and then its permission bits (fchmod after fchown, which may
 * clear set-id bits).
 */
#include "sluice.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_HOPS 40
#define SLOTS 16
#define TAG ".sluice-tmp."
#define NAME_CAP ((int)sizeof(((sl_outfile *)0)->name))

typedef struct {
	atomic_int claimed; /* owned by an outfile */
	atomic_int live;    /* dirfd and tmp name a file to remove on a signal */
	int dirfd;
	char tmp[NAME_CAP];
} slot_t;

static slot_t slots[SLOTS];
static atomic_uint_fast64_t counter;

static int claim_slot(void)
{
	for (int i = 0; i < SLOTS; i++) {
		int expected = 0;
		if (atomic_compare_exchange_strong(&slots[i].claimed, &expected, 1))
			return i;
	}
	return -1;
}

static void publish(sl_outfile *f)
{
	if (f->slot < 0)
		return;
	slot_t *s = &slots[f->slot];
	s->dirfd = f->dirfd;
	memcpy(s->tmp, f->tmp, sizeof s->tmp);
	atomic_store(&s->live, 1);
}

static void unpublish(sl_outfile *f)
{
	if (f->slot >= 0)
		atomic_store(&slots[f->slot].live, 0);
}

static void release_slot(sl_outfile *f)
{
	if (f->slot < 0)
		return;
	atomic_store(&slots[f->slot].live, 0);
	atomic_store(&slots[f->slot].claimed, 0);
	f->slot = -1;
}

void sl_outfile_signal_cleanup(void)
{
	for (int i = 0; i < SLOTS; i++)
		if (atomic_load(&slots[i].live))
			unlinkat(slots[i].dirfd, slots[i].tmp, 0);
}

static sl_status io_fail(int *err, const char **why, const char *step)
{
	*err = errno ? errno : EIO;
	*why = step;
	return SL_EIO;
}

static const char *kind(mode_t m)
{
	if (S_ISDIR(m))
		return "is a directory";
	if (S_ISFIFO(m))
		return "is a named pipe (FIFO)";
	if (S_ISCHR(m))
		return "is a character device";
	if (S_ISBLK(m))
		return "is a block device";
	if (S_ISSOCK(m))
		return "is a socket";
	return "is not a regular file";
}

/*
 * Splits text (NUL-terminated, in a writable buffer) at its last '/' and
 * opens the directory part relative to at. The final name goes to name.
 */
static sl_status enter(int at, char *text, int *dirfd, char *name, int *err, const char **why)
{
	char *slash = strrchr(text, '/');
	const char *base = slash ? slash + 1 : text;
	const char *dir = ".";
	if (slash) {
		*slash = '\0';
		dir = slash == text ? "/" : text;
	}
	if (*base == '\0') {
		*why = "names a directory";
		return SL_ENOTREG;
	}
	if (strlen(base) >= (size_t)NAME_CAP) {
		errno = ENAMETOOLONG;
		return io_fail(err, why, "name too long");
	}
	int d = openat(at, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0)
		return io_fail(err, why, "cannot open the directory");
	strcpy(name, base);
	*dirfd = d;
	return SL_OK;
}

/* Resolves path into f->dirfd, f->name and what the target is. */
static sl_status resolve(sl_outfile *f, const char *path, int *err, const char **why)
{
	char text[PATH_MAX];
	size_t n = strlen(path);
	if (n == 0) {
		errno = ENOENT;
		return io_fail(err, why, "empty path");
	}
	if (n >= sizeof text) {
		errno = ENAMETOOLONG;
		return io_fail(err, why, "path too long");
	}
	memcpy(text, path, n + 1);
	sl_status st = enter(AT_FDCWD, text, &f->dirfd, f->name, err, why);
	if (st != SL_OK)
		return st;
	for (int hop = 0;; hop++) {
		struct stat sb;
		if (fstatat(f->dirfd, f->name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno == ENOENT)
				return SL_OK; /* a new file */
			return io_fail(err, why, "cannot stat");
		}
		if (S_ISREG(sb.st_mode)) {
			f->exists = true;
			f->mode = (uint32_t)(sb.st_mode & 07777);
			f->uid = (uint32_t)sb.st_uid;
			f->gid = (uint32_t)sb.st_gid;
			return SL_OK;
		}
		if (!S_ISLNK(sb.st_mode)) {
			if ((f->flags & SL_OUTFILE_THROUGH) &&
			    (S_ISFIFO(sb.st_mode) || S_ISCHR(sb.st_mode))) {
				f->through = true;
				return SL_OK;
			}
			*why = kind(sb.st_mode);
			return SL_ENOTREG;
		}
		if (hop == MAX_HOPS) {
			errno = ELOOP;
			return io_fail(err, why, "too many symbolic links");
		}
		ssize_t len = readlinkat(f->dirfd, f->name, text, sizeof text);
		if (len < 0)
			return io_fail(err, why, "cannot read the symbolic link");
		if ((size_t)len >= sizeof text) {
			errno = ENAMETOOLONG;
			return io_fail(err, why, "symbolic link too long");
		}
		text[len] = '\0';
		int d;
		st = enter(f->dirfd, text, &d, f->name, err, why);
		if (st != SL_OK)
			return st;
		close(f->dirfd);
		f->dirfd = d;
	}
}

static void init(sl_outfile *f, int flags)
{
	memset(f, 0, sizeof *f);
	f->fd = -1;
	f->dirfd = -1;
	f->slot = -1;
	f->flags = flags;
}

static void close_all(sl_outfile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->dirfd >= 0)
		close(f->dirfd);
	f->fd = f->dirfd = -1;
	release_slot(f);
}

sl_status sl_outfile_check(const char *path, int flags, int *err, const char **why)
{
	sl_outfile f;
	init(&f, flags);
	*err = 0;
	*why = NULL;
	sl_status st = resolve(&f, path, err, why);
	close_all(&f);
	return st;
}

/* How much of the target's name the temporary's name keeps. */
static int tag_len(const sl_outfile *f)
{
	/* "." NAME TAG PID(<= 10) "." XXXXXX */
	int room = NAME_CAP - 1 - 1 - (int)strlen(TAG) - 10 - 1 - 6;
	int n = (int)strlen(f->name);
	return n < room ? n : room;
}

/* A fresh temporary name in f->tmp. */
static void make_name(sl_outfile *f)
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t z = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^ (uint64_t)getpid() << 12 ^
		     atomic_fetch_add(&counter, 1) * 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	char x[7];
	for (int i = 0; i < 6; i++, z /= 62)
		x[i] = abc[z % 62];
	x[6] = '\0';
	snprintf(f->tmp, sizeof f->tmp, ".%.*s" TAG "%ld.%s", tag_len(f), f->name, (long)getpid(),
		 x);
}

/* Removes ".NAME.sluice-tmp.PID.XXXXXX" entries of dead processes. */
static void sweep(sl_outfile *f)
{
	char prefix[NAME_CAP];
	int plen = snprintf(prefix, sizeof prefix, ".%.*s" TAG, tag_len(f), f->name);
	int d = openat(f->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0)
		return;
	_Alignas(8) char buf[4096]; /* dirent64 records are 8-byte aligned */
	long self = (long)getpid();
	for (;;) {
		ssize_t n = getdents64(d, buf, sizeof buf);
		if (n <= 0)
			break;
		for (ssize_t off = 0; off < n;) {
			struct dirent64 *e = (struct dirent64 *)(void *)(buf + off);
			off += e->d_reclen;
			if (strncmp(e->d_name, prefix, (size_t)plen) != 0)
				continue;
			const char *p = e->d_name + plen;
			long pid = 0;
			int digits = 0;
			while (*p >= '0' && *p <= '9' && digits < 10) {
				pid = pid * 10 + (*p++ - '0');
				digits++;
			}
			if (!digits || *p != '.' || strlen(p + 1) != 6 || pid <= 0 || pid == self ||
			    pid > INT_MAX)
				continue;
			if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
				unlinkat(f->dirfd, e->d_name, 0);
		}
	}
	close(d);
}

/* Creates a named temporary (O_EXCL) in f->tmp, published for signals. */
static int create_named(sl_outfile *f, uint32_t new_mode)
{
	for (int tries = 0; tries < 100; tries++) {
		make_name(f);
		publish(f); /* before it exists: a signal now removes nothing */
		int fd = openat(f->dirfd, f->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
				(mode_t)new_mode);
		if (fd >= 0) {
			f->named = true;
			return fd;
		}
		int e = errno;
		unpublish(f);
		errno = e;
		if (e != EEXIST)
			return -1;
	}
	return -1;
}

static void drop_named(sl_outfile *f)
{
	if (f->named) {
		unlinkat(f->dirfd, f->tmp, 0);
		f->named = false;
	}
	unpublish(f);
}

sl_status sl_outfile_open(sl_outfile *f, const char *path, uint32_t new_mode, int flags, int *err,
			  const char **why)
{
	init(f, flags);
	*err = 0;
	*why = NULL;
	sl_status st = resolve(f, path, err, why);
	if (st != SL_OK)
		goto fail;
	if (f->through) {
		f->fd = openat(f->dirfd, f->name, O_WRONLY | O_NOCTTY | O_CLOEXEC);
		if (f->fd < 0) {
			st = io_fail(err, why, "cannot open");
			goto fail;
		}
		return SL_OK;
	}
	f->slot = claim_slot();
	sweep(f);
	errno = EOPNOTSUPP;
	if (!(flags & SL_OUTFILE_NAMED))
		f->fd = openat(f->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, (mode_t)new_mode);
	if (f->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
		f->fd = create_named(f, new_mode);
	if (f->fd < 0) {
		st = io_fail(err, why, "cannot create a temporary file in the directory");
		goto fail;
	}
	if (f->exists) {
		struct stat sb;
		if (fstat(f->fd, &sb) != 0) {
			st = io_fail(err, why, "cannot stat the temporary file");
			goto fail;
		}
		if ((sb.st_uid != f->uid || sb.st_gid != f->gid) &&
		    fchown(f->fd, (uid_t)f->uid, (gid_t)f->gid) != 0 &&
		    fchown(f->fd, (uid_t)-1, (gid_t)f->gid) != 0 && errno != EPERM) {
			st = io_fail(err, why, "cannot set the owner");
			goto fail;
		}
		if (fchmod(f->fd, (mode_t)f->mode) != 0) {
			st = io_fail(err, why, "cannot set the mode");
			goto fail;
		}
	}
	return SL_OK;
fail:
	drop_named(f);
	close_all(f);
	return st;
}

int sl_outfile_fd(const sl_outfile *f)
{
	return f->fd;
}

static int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = ENOSPC;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

sl_status sl_outfile_write(sl_outfile *f, const void *p, size_t n, int *err)
{
	*err = 0;
	if (f->fd < 0) {
		*err = EBADF;
		return SL_EIO;
	}
	if (write_all(f->fd, p, n) != 0) {
		*err = errno;
		return SL_EIO;
	}
	return SL_OK;
}

/* Gives the unnamed temporary f->fd a name (f->tmp, published); copies it
 * into a named one when no link works. */
static int link_in(sl_outfile *f)
{
	for (int tries = 0; tries < 100; tries++) {
		make_name(f);
		publish(f);
		if (linkat(f->fd, "", f->dirfd, f->tmp, AT_EMPTY_PATH) == 0) {
			f->named = true;
			return 0;
		}
		if (errno != EEXIST) {
			char proc[64];
			snprintf(proc, sizeof proc, "/proc/self/fd/%d", f->fd);
			if (linkat(AT_FDCWD, proc, f->dirfd, f->tmp, AT_SYMLINK_FOLLOW) == 0) {
				f->named = true;
				return 0;
			}
		}
		int e = errno;
		unpublish(f);
		if (e != EEXIST)
			break;
	}
	/* No link: copy the bytes into a named file. */
	struct stat sb;
	if (fstat(f->fd, &sb) != 0)
		return -1;
	int out = create_named(f, f->exists ? f->mode : 0600);
	if (out < 0)
		return -1;
	char buf[4096];
	for (off_t off = 0; off < sb.st_size;) {
		ssize_t n = pread(f->fd, buf, sizeof buf, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || write_all(out, buf, (size_t)n) != 0) {
			if (n == 0)
				errno = EIO;
			int e = errno;
			close(out);
			errno = e;
			return -1;
		}
		off += n;
	}
	if (f->exists) {
		if (fchown(out, (uid_t)f->uid, (gid_t)f->gid) != 0)
			(void)!fchown(out, (uid_t)-1, (gid_t)f->gid);
		(void)fchmod(out, (mode_t)f->mode);
	} else {
		(void)fchmod(out, sb.st_mode & 07777);
	}
	if (fsync(out) != 0) {
		int e = errno;
		close(out);
		errno = e;
		return -1;
	}
	close(f->fd);
	f->fd = out;
	return 0;
}

sl_status sl_outfile_commit(sl_outfile *f, int *err, const char **why)
{
	*err = 0;
	*why = NULL;
	sl_status st = SL_OK;
	if (f->fd < 0) {
		errno = EBADF;
		return io_fail(err, why, "not open");
	}
	if (f->through) {
		int rc = close(f->fd);
		f->fd = -1;
		if (rc != 0)
			st = io_fail(err, why, "close");
		close_all(f);
		return st;
	}
	if (fsync(f->fd) != 0) {
		st = io_fail(err, why, "fsync");
		goto fail;
	}
	if (!f->named && link_in(f) != 0) {
		st = io_fail(err, why, "cannot link the temporary file in");
		goto fail;
	}
	int rc = close(f->fd);
	f->fd = -1;
	if (rc != 0) {
		st = io_fail(err, why, "close");
		goto fail;
	}
	if (renameat(f->dirfd, f->tmp, f->dirfd, f->name) != 0) {
		st = io_fail(err, why, "rename");
		goto fail;
	}
	f->named = false;
	unpublish(f);
	/* The rename is durable once the directory is synced; EINVAL: a file
	 * system that cannot sync directories. */
	if (fsync(f->dirfd) != 0 && errno != EINVAL)
		st = io_fail(err, why, "fsync of the directory");
	close_all(f);
	return st;
fail:
	drop_named(f);
	close_all(f);
	return st;
}

void sl_outfile_abort(sl_outfile *f)
{
	if (f->fd < 0 && f->dirfd < 0 && f->slot < 0)
		return;
	drop_named(f);
	close_all(f);
}
