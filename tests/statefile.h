/*
 * statefile.h: reading and patching the bytes of a state file in the tests
 * that forge states (docs/state-format.md has the layout): little-endian
 * fields, a section's place, and resealing the checksums after a patch so
 * that only the decoder's checks of the contents can refuse the file.
 */
#ifndef SLUICE_TEST_STATEFILE_H
#define SLUICE_TEST_STATEFILE_H

#include "sluice.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint32_t sf_le32(const uint8_t *p);
uint64_t sf_le64(const uint8_t *p);
void sf_put64(uint8_t *p, uint64_t v);
void sf_put32(uint8_t *p, uint32_t v);
/* Offset and length of the section of this type; false if absent. */
bool sf_find_section(const uint8_t *buf, uint32_t type, size_t *off, size_t *len);
/* Recomputes every section checksum, the file length and the header
 * checksum (lengths as they stand in the table). */
void sf_reseal(uint8_t *buf, size_t len);

#endif
