/* statefile.c: see statefile.h. */
#include "statefile.h"

uint32_t sf_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t sf_le64(const uint8_t *p)
{
	return (uint64_t)sf_le32(p) | (uint64_t)sf_le32(p + 4) << 32;
}

void sf_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void sf_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Offset and length of the section of this type; false if absent. */
bool sf_find_section(const uint8_t *buf, uint32_t type, size_t *off, size_t *len)
{
	uint32_t ns = sf_le32(buf + 12);
	size_t at = 24 + 24 * (size_t)ns + 8;
	for (uint32_t i = 0; i < ns; i++) {
		const uint8_t *e = buf + 24 + 24 * (size_t)i;
		if (sf_le32(e) == type) {
			*off = at;
			*len = (size_t)sf_le64(e + 8);
			return true;
		}
		at += (size_t)sf_le64(e + 8);
	}
	return false;
}

/* Recomputes every section checksum, the file length and the header
 * checksum (lengths as they stand in the table). */
void sf_reseal(uint8_t *buf, size_t len)
{
	uint32_t ns = sf_le32(buf + 12);
	size_t at = 24 + 24 * (size_t)ns + 8;
	for (uint32_t i = 0; i < ns; i++) {
		uint8_t *e = buf + 24 + 24 * (size_t)i;
		size_t sl = (size_t)sf_le64(e + 8);
		if (at <= len && sl <= len - at)
			sf_put64(e + 16, sl_hash(buf + at, sl));
		at += sl;
	}
	sf_put64(buf + 16, len);
	sf_put64(buf + 24 + 24 * (size_t)ns, sl_hash(buf, 24 + 24 * (size_t)ns));
}
