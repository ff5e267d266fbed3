/*
 * json.h: a small JSON reader for the tests (not part of libsluice).
 *
 * Parses a whole document into a tree. Strings are decoded; \u0000-\u00ff
 * escapes decode to the single byte of that value, which is how the sluice
 * renderer writes raw log bytes, so test values compare byte for byte.
 * Integers are kept exactly as uint64 when they are non-negative integers.
 */
#ifndef SLUICE_TEST_JSON_H
#define SLUICE_TEST_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jv {
	jtype t;
	int b;		 /* J_BOOL */
	double num;	 /* J_NUM */
	uint64_t u;	 /* J_NUM when is_uint */
	int is_uint;
	char *str;	 /* J_STR (NUL-terminated, may hold NULs: see len) */
	size_t len;
	struct jv **items; /* J_ARR, J_OBJ values */
	char **keys;	   /* J_OBJ */
	size_t n;
} jv;

/* NULL on a syntax error (and *err_at set to the byte offset). */
jv *json_parse(const char *text, size_t len, size_t *err_at);
void json_free(jv *v);
/* Member of an object, or NULL. */
const jv *json_get(const jv *obj, const char *key);
/* Element i of an array, or NULL. */
const jv *json_at(const jv *arr, size_t i);
/* Object member as uint64 (asserts nothing; returns UINT64_MAX if absent or
 * not an unsigned integer). */
uint64_t json_u64(const jv *obj, const char *key);

#endif
