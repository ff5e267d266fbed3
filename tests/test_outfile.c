/*
 * test_outfile.c: lib/io/outfile.c, replacing files without destroying
 * anything else, in a fresh directory under /tmp.
 *
 *  - a new file and a replaced one, with an unnamed temporary and with a
 *    named one (SL_OUTFILE_NAMED): nothing at the target until commit, the
 *    old contents until commit, the old mode (and a new file's mode) after,
 *    no temporary left;
 *  - symbolic links: a relative chain across directories, an absolute
 *    link, a dangling link (its target is created), a loop (ELOOP), a link
 *    to a directory and a trailing slash (refused);
 *  - refused kinds, each with its reason, before anything is created: a
 *    FIFO, a socket, a directory, a character device (a link to
 *    /dev/null); with SL_OUTFILE_THROUGH a FIFO and /dev/null are written
 *    in place and stay what they were;
 *  - abort and the signal cleanup remove a named temporary; sl_outfile_check
 *    creates nothing; a missing directory is ENOENT.
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static char dir[64];

static void at(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

/* Entries of d whose name holds ".sluice-tmp.". */
static int temporaries(const char *d)
{
	DIR *dh = opendir(d);
	assert_non_null(dh);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(dh)) != NULL)
		n += strstr(e->d_name, ".sluice-tmp.") != NULL;
	closedir(dh);
	return n;
}

static void write_and_commit(const char *path, int flags, const char *text)
{
	sl_outfile f;
	int err;
	const char *why;
	assert_int_equal(sl_outfile_open(&f, path, 0666, flags, &err, &why), SL_OK);
	assert_int_equal(sl_outfile_write(&f, text, strlen(text), &err), SL_OK);
	assert_int_equal(sl_outfile_commit(&f, &err, &why), SL_OK);
	sl_outfile_abort(&f); /* harmless after commit */
}

static void assert_contents(const char *path, const char *text)
{
	char *s = tu_slurp(path, NULL);
	assert_non_null(s);
	assert_string_equal(s, text);
	free(s);
}

static void new_and_replaced(void **state)
{
	(void)state;
	static const int modes[] = {0, SL_OUTFILE_NAMED};
	mode_t um = umask(022);
	for (int i = 0; i < 2; i++) {
		char path[128];
		at(path, sizeof path, i ? "named.txt" : "unnamed.txt");
		sl_outfile f;
		int err;
		const char *why;
		assert_int_equal(sl_outfile_open(&f, path, 0666, modes[i], &err, &why), SL_OK);
		assert_int_equal(sl_outfile_write(&f, "one\n", 4, &err), SL_OK);
		assert_int_equal(access(path, F_OK), -1); /* nothing until commit */
		assert_int_equal(temporaries(dir), i); /* named: visible */
		assert_int_equal(sl_outfile_commit(&f, &err, &why), SL_OK);
		assert_contents(path, "one\n");
		struct stat sb;
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_mode & 07777, 0644);

		/* replaced: the old contents until commit, its mode after */
		assert_int_equal(chmod(path, 0604), 0);
		ino_t old_ino = sb.st_ino;
		assert_int_equal(sl_outfile_open(&f, path, 0600, modes[i], &err, &why), SL_OK);
		assert_int_equal(sl_outfile_write(&f, "two\n", 4, &err), SL_OK);
		assert_contents(path, "one\n");
		assert_int_equal(sl_outfile_commit(&f, &err, &why), SL_OK);
		assert_contents(path, "two\n");
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_mode & 07777, 0604);
		assert_true(sb.st_ino != old_ino);
		assert_int_equal(temporaries(dir), 0);
	}
	umask(um);
}

static void symlinks(void **state)
{
	(void)state;
	char a[128], b[128], target[160], l1[160], l2[160], path[200];
	at(a, sizeof a, "a");
	at(b, sizeof b, "b");
	assert_int_equal(mkdir(a, 0755), 0);
	assert_int_equal(mkdir(b, 0755), 0);
	snprintf(target, sizeof target, "%s/real.txt", b);
	tu_write_file(target, "old\n", 4);
	assert_int_equal(chmod(target, 0640), 0);
	/* a/l1 -> ../b/real.txt (relative to a/), l2 -> a/l1 (absolute) */
	snprintf(l1, sizeof l1, "%s/l1", a);
	assert_int_equal(symlink("../b/real.txt", l1), 0);
	at(l2, sizeof l2, "l2");
	assert_int_equal(symlink(l1, l2), 0);
	write_and_commit(l2, 0, "new\n");
	assert_contents(target, "new\n");
	struct stat sb;
	assert_int_equal(lstat(l1, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));
	assert_int_equal(lstat(l2, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));
	assert_int_equal(stat(target, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
	assert_int_equal(temporaries(a) + temporaries(b) + temporaries(dir), 0);

	/* a dangling link creates its target */
	at(path, sizeof path, "dangling");
	assert_int_equal(symlink("b/created.txt", path), 0);
	write_and_commit(path, SL_OUTFILE_NAMED, "made\n");
	snprintf(path, sizeof path, "%s/created.txt", b);
	assert_contents(path, "made\n");

	/* a loop, a link to a directory, a trailing slash */
	int err;
	const char *why;
	char x[128], y[128];
	at(x, sizeof x, "x");
	at(y, sizeof y, "y");
	assert_int_equal(symlink("y", x), 0);
	assert_int_equal(symlink("x", y), 0);
	sl_outfile f;
	assert_int_equal(sl_outfile_open(&f, x, 0666, 0, &err, &why), SL_EIO);
	assert_int_equal(err, ELOOP);
	sl_outfile_abort(&f); /* harmless after a failed open */
	at(path, sizeof path, "todir");
	assert_int_equal(symlink("a", path), 0);
	assert_int_equal(sl_outfile_open(&f, path, 0666, 0, &err, &why), SL_ENOTREG);
	assert_string_equal(why, "is a directory");
	snprintf(path, sizeof path, "%s/", a);
	assert_int_equal(sl_outfile_check(path, 0, &err, &why), SL_ENOTREG);
	assert_int_equal(temporaries(a) + temporaries(b) + temporaries(dir), 0);
}

static void refused_kinds(void **state)
{
	(void)state;
	char fifo[100], sock[100], sub[100], null[100];
	at(fifo, sizeof fifo, "fifo");
	at(sock, sizeof sock, "sock");
	at(sub, sizeof sub, "sub");
	at(null, sizeof null, "null");
	assert_int_equal(mkfifo(fifo, 0644), 0);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(symlink("/dev/null", null), 0);
	struct {
		const char *path;
		const char *why;
		mode_t type;
	} cases[] = {
		{fifo, "is a named pipe (FIFO)", S_IFIFO},
		{sock, "is a socket", S_IFSOCK},
		{sub, "is a directory", S_IFDIR},
		{null, "is a character device", S_IFCHR},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sl_outfile f;
		int err;
		const char *why;
		assert_int_equal(sl_outfile_check(cases[i].path, 0, &err, &why), SL_ENOTREG);
		assert_string_equal(why, cases[i].why);
		assert_int_equal(sl_outfile_open(&f, cases[i].path, 0666, 0, &err, &why),
				 SL_ENOTREG);
		assert_string_equal(why, cases[i].why);
		struct stat sb;
		assert_int_equal(stat(cases[i].path, &sb), 0);
		assert_int_equal(sb.st_mode & S_IFMT, cases[i].type);
	}
	close(s);
	assert_int_equal(temporaries(dir), 0);

	/* written through: the FIFO and /dev/null stay what they are */
	int r = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(r >= 0);
	write_and_commit(fifo, SL_OUTFILE_THROUGH, "through\n");
	char buf[16] = {0};
	assert_int_equal(read(r, buf, sizeof buf - 1), 8);
	assert_string_equal(buf, "through\n");
	close(r);
	write_and_commit(null, SL_OUTFILE_THROUGH, "gone\n");
	struct stat sb;
	assert_int_equal(lstat(null, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));
	assert_int_equal(stat("/dev/null", &sb), 0);
	assert_true(S_ISCHR(sb.st_mode));
	/* a directory is refused even so */
	int err;
	const char *why;
	assert_int_equal(sl_outfile_check(sub, SL_OUTFILE_THROUGH, &err, &why), SL_ENOTREG);
	assert_int_equal(temporaries(dir), 0);
}

static void abort_and_cleanup(void **state)
{
	(void)state;
	char path[128];
	at(path, sizeof path, "kept.txt");
	tu_write_file(path, "kept\n", 5);
	sl_outfile f;
	int err;
	const char *why;
	/* abort removes the named temporary */
	assert_int_equal(sl_outfile_open(&f, path, 0666, SL_OUTFILE_NAMED, &err, &why), SL_OK);
	assert_int_equal(sl_outfile_write(&f, "lost\n", 5, &err), SL_OK);
	assert_int_equal(temporaries(dir), 1);
	sl_outfile_abort(&f);
	assert_int_equal(temporaries(dir), 0);
	assert_contents(path, "kept\n");
	sl_outfile_abort(&f); /* twice: harmless */
	/* the signal cleanup removes it too, for every open outfile */
	sl_outfile g;
	assert_int_equal(sl_outfile_open(&f, path, 0666, SL_OUTFILE_NAMED, &err, &why), SL_OK);
	assert_int_equal(sl_outfile_open(&g, path, 0666, SL_OUTFILE_NAMED, &err, &why), SL_OK);
	assert_int_equal(temporaries(dir), 2);
	sl_outfile_signal_cleanup();
	assert_int_equal(temporaries(dir), 0);
	sl_outfile_abort(&f);
	sl_outfile_abort(&g);
	assert_contents(path, "kept\n");
	/* an unnamed temporary leaves nothing to clean */
	assert_int_equal(sl_outfile_open(&f, path, 0666, 0, &err, &why), SL_OK);
	assert_int_equal(temporaries(dir), 0);
	sl_outfile_abort(&f);
	assert_contents(path, "kept\n");

	/* check creates nothing; a missing directory is ENOENT */
	at(path, sizeof path, "not-yet.txt");
	assert_int_equal(sl_outfile_check(path, 0, &err, &why), SL_OK);
	assert_int_equal(access(path, F_OK), -1);
	at(path, sizeof path, "no/such/dir.txt");
	assert_int_equal(sl_outfile_check(path, 0, &err, &why), SL_EIO);
	assert_int_equal(err, ENOENT);
	assert_int_equal(sl_outfile_open(&f, path, 0666, 0, &err, &why), SL_EIO);
	assert_int_equal(err, ENOENT);
	assert_int_equal(sl_outfile_check("", 0, &err, &why), SL_EIO);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test_outfile-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return tu_run(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(new_and_replaced),
		cmocka_unit_test(symlinks),
		cmocka_unit_test(refused_kinds),
		cmocka_unit_test(abort_and_cleanup),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
