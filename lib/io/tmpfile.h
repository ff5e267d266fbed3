/*
 * tmpfile.h: unnamed temporary files for spilling (sl_tmp_*), shared by the
 * external sort (xsort.c) and the exact counter (exact.c). Internal to lib/.
 *
 * A spill file has no name from the moment it exists: O_TMPFILE where the
 * file system supports it, else mkostemp followed at once by unlink. So
 * nothing is left behind on any exit, SIGINT and SIGKILL included: the
 * space goes back when the descriptor is closed.
 *
 * Errors: SL_EIO with *err = errno (ENOSPC when the disk is full, which is
 * also what a pwrite that writes nothing is taken to mean); SL_ECORRUPT when
 * a read finds the file shorter than what was written; SL_ENOMEM when the
 * budget refuses the fallback's path buffer.
 */
#ifndef SLUICE_TMPFILE_H
#define SLUICE_TMPFILE_H

#include "sluice.h"

/* Opens an unnamed read-write file in dir; prefix names the fallback's
 * short-lived path ("sluice-sort"). *fd set on SL_OK. */
sl_status sl_tmp_open(const char *dir, const char *prefix, sl_budget *b, int *fd, int *err);

/* Writes all n bytes at off, retrying short writes and EINTR. */
sl_status sl_tmp_pwrite(int fd, const void *p, size_t n, uint64_t off, int *err);

/* Reads exactly n bytes at off, retrying short reads and EINTR. */
sl_status sl_tmp_pread(int fd, void *p, size_t n, uint64_t off, int *err);

#endif
