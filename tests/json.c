/* json.c: the tests' JSON reader (json.h). Recursive descent, strict. */
#include "json.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
	const char *p, *end, *start;
	int depth;
} jp;

static void ws(jp *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
		s->p++;
}

static jv *value(jp *s);

static jv *node(jtype t)
{
	jv *v = calloc(1, sizeof *v);
	if (v)
		v->t = t;
	return v;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
		else return -1;
	}
	*out = v;
	return 0;
}

static char *string(jp *s, size_t *len)
{
	if (s->p >= s->end || *s->p != '"')
		return NULL;
	s->p++;
	size_t cap = 16, n = 0;
	char *out = malloc(cap);
	while (out && s->p < s->end && *s->p != '"') {
		if (n + 8 > cap) {
			char *t = realloc(out, cap *= 2);
			if (!t) { free(out); return NULL; }
			out = t;
		}
		unsigned char c = (unsigned char)*s->p++;
		if (c < 0x20) { free(out); return NULL; }
		if (c != '\\') { out[n++] = (char)c; continue; }
		if (s->p >= s->end) break;
		c = (unsigned char)*s->p++;
		switch (c) {
		case '"': case '\\': case '/': out[n++] = (char)c; break;
		case 'n': out[n++] = '\n'; break;
		case 't': out[n++] = '\t'; break;
		case 'r': out[n++] = '\r'; break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'u': {
			unsigned cp;
			if (s->end - s->p < 4 || hex4(s->p, &cp) < 0) { free(out); return NULL; }
			s->p += 4;
			if (cp < 0x100) {
				out[n++] = (char)cp;
			} else if (cp < 0x800) {
				out[n++] = (char)(0xc0 | (cp >> 6));
				out[n++] = (char)(0x80 | (cp & 0x3f));
			} else {
				out[n++] = (char)(0xe0 | (cp >> 12));
				out[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
				out[n++] = (char)(0x80 | (cp & 0x3f));
			}
			break;
		}
		default: free(out); return NULL;
		}
	}
	if (!out || s->p >= s->end) { free(out); return NULL; }
	s->p++;
	out[n] = '\0';
	*len = n;
	return out;
}

static int push(jv *v, jv *item, char *key)
{
	jv **items = realloc(v->items, (v->n + 1) * sizeof *items);
	if (!items) return -1;
	v->items = items;
	if (v->t == J_OBJ) {
		char **keys = realloc(v->keys, (v->n + 1) * sizeof *keys);
		if (!keys) return -1;
		v->keys = keys;
		v->keys[v->n] = key;
	}
	v->items[v->n++] = item;
	return 0;
}

static jv *container(jp *s, char close)
{
	jv *v = node(close == '}' ? J_OBJ : J_ARR);
	if (!v || ++s->depth > 64) { json_free(v); return NULL; }
	s->p++;
	ws(s);
	if (s->p < s->end && *s->p == close) { s->p++; s->depth--; return v; }
	for (;;) {
		char *key = NULL;
		size_t klen;
		ws(s);
		if (close == '}') {
			key = string(s, &klen);
			ws(s);
			if (!key || s->p >= s->end || *s->p != ':') { free(key); json_free(v); return NULL; }
			s->p++;
		}
		jv *item = value(s);
		if (!item || push(v, item, key) < 0) { free(key); json_free(item); json_free(v); return NULL; }
		ws(s);
		if (s->p < s->end && *s->p == ',') { s->p++; continue; }
		if (s->p < s->end && *s->p == close) { s->p++; s->depth--; return v; }
		json_free(v);
		return NULL;
	}
}

static jv *value(jp *s)
{
	ws(s);
	if (s->p >= s->end) return NULL;
	char c = *s->p;
	if (c == '{') return container(s, '}');
	if (c == '[') return container(s, ']');
	if (c == '"') {
		jv *v = node(J_STR);
		if (v && !(v->str = string(s, &v->len))) { free(v); return NULL; }
		return v;
	}
	static const struct { const char *w; jtype t; int b; } lit[] = {
		{"null", J_NULL, 0}, {"true", J_BOOL, 1}, {"false", J_BOOL, 0}};
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(lit[i].w);
		if ((size_t)(s->end - s->p) >= n && memcmp(s->p, lit[i].w, n) == 0) {
			s->p += n;
			jv *v = node(lit[i].t);
			if (v) v->b = lit[i].b;
			return v;
		}
	}
	if (c == '-' || (c >= '0' && c <= '9')) {
		char buf[64];
		size_t n = 0;
		while (s->p + n < s->end && n < sizeof buf - 1 && strchr("+-0123456789.eE", s->p[n]))
			n++;
		memcpy(buf, s->p, n);
		buf[n] = '\0';
		char *end;
		jv *v = node(J_NUM);
		if (!v) return NULL;
		v->num = strtod(buf, &end);
		if (end != buf + n) { free(v); return NULL; }
		if (strspn(buf, "0123456789") == n) {
			v->is_uint = 1;
			v->u = strtoull(buf, NULL, 10);
		}
		s->p += n;
		return v;
	}
	return NULL;
}

jv *json_parse(const char *text, size_t len, size_t *err_at)
{
	jp s = {text, text + len, text, 0};
	jv *v = value(&s);
	ws(&s);
	if (!v || s.p != s.end) {
		json_free(v);
		if (err_at) *err_at = (size_t)(s.p - s.start);
		return NULL;
	}
	return v;
}

void json_free(jv *v)
{
	if (!v) return;
	for (size_t i = 0; i < v->n; i++) {
		json_free(v->items[i]);
		if (v->keys) free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	free(v);
}

const jv *json_get(const jv *obj, const char *key)
{
	if (!obj || obj->t != J_OBJ) return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (strcmp(obj->keys[i], key) == 0) return obj->items[i];
	return NULL;
}

const jv *json_at(const jv *arr, size_t i)
{
	return arr && arr->t == J_ARR && i < arr->n ? arr->items[i] : NULL;
}

uint64_t json_u64(const jv *obj, const char *key)
{
	const jv *v = json_get(obj, key);
	return v && v->t == J_NUM && v->is_uint ? v->u : UINT64_MAX;
}
