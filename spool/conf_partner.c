/*
 * conf_partner.c - [partner NAME] of spoold.conf (DESIGN 8, 16): a
 * partner directory's aliases (the Senders it may carry), its ids, the
 * dialects it may send, its HTTP token, test interchanges, the
 * acknowledgment it gets, its ordering (order, after.TYPE,
 * first_control); and the look-ups the daemon makes with them.
 *
 * A section is made when its header is read (conf_partner_open()), so
 * that a partner without keys is still known. Each key may be given
 * once (a list continues on indented lines instead). That no alias is
 * itself a partner's name needs the whole file (conf_partner_check()).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ack.h"
#include "conf.h"
#include "conf_int.h"

/* Keys of [partner NAME]; bits in partner_seen. */
enum {
	PK_ALIASES = 1,
	PK_TOKEN = 2,
	PK_IDS = 4,
	PK_DIALECTS = 8,
	PK_TEST = 16,
	PK_ACK = 32,
	PK_ORDER = 64,
	PK_FIRST_CONTROL = 128
};

static const struct {
	const char	*name;
	unsigned	 bit;
} partner_keys[] = {
	{ "aliases", PK_ALIASES },
	{ "token_sha256", PK_TOKEN },
	{ "ids", PK_IDS },
	{ "dialects", PK_DIALECTS },
	{ "test_interchanges", PK_TEST },
	{ "ack", PK_ACK },
	{ "order", PK_ORDER },
	{ "first_control", PK_FIRST_CONTROL },
};

bool
conf_partner_name_ok(const char *name)
{
	size_t i;

	if (!isalnum((unsigned char)name[0]) || !isascii(name[0]))
		return false;
	for (i = 1; name[i] != '\0'; i++) {
		if (i >= CONF_PARTNER_MAX)
			return false;
		if (!isascii(name[i]) || !(isalnum((unsigned char)name[i]) ||
		    name[i] == '.' || name[i] == '_' || name[i] == '-'))
			return false;
	}
	return true;
}

static struct conf_partner *
partner_get(struct conf_parse *p, const char *name)
{
	struct conf *c = p->conf;
	struct conf_partner *pa;
	unsigned *seen;
	int *line;
	size_t i;

	for (i = 0; i < c->npartners; i++)
		if (strcmp(c->partners[i].name, name) == 0)
			return &c->partners[i];
	if ((pa = realloc(c->partners,
	    (c->npartners + 1) * sizeof(*pa))) == NULL)
		return NULL;
	c->partners = pa;
	if ((seen = realloc(p->partner_seen,
	    (c->npartners + 1) * sizeof(*seen))) == NULL)
		return NULL;
	p->partner_seen = seen;
	if ((line = realloc(p->alias_line,
	    (c->npartners + 1) * sizeof(*line))) == NULL)
		return NULL;
	p->alias_line = line;
	line[c->npartners] = 0;
	pa = &c->partners[c->npartners];
	memset(pa, 0, sizeof(*pa));
	if ((pa->name = strdup(name)) == NULL)
		return NULL;
	seen[c->npartners++] = 0;
	return pa;
}

/* At a [partner NAME] header: NAME must be a valid partner name. */
void
conf_partner_open(struct conf_parse *p, const char *name)
{
	if (!conf_partner_name_ok(name))
		conf_fail(p, "[partner %s]: \"%s\" is not a valid partner "
		    "name", name, name);
	else if (partner_get(p, name) == NULL)
		conf_fail(p, "out of memory");
}

int
conf_order_parse(const char *v)
{
	if (strcmp(v, "sequence") == 0)
		return CONF_ORDER_SEQUENCE;
	if (strcmp(v, "interchange") == 0)
		return CONF_ORDER_INTERCHANGE;
	if (strcmp(v, "after") == 0)
		return CONF_ORDER_AFTER;
	if (strcmp(v, "none") == 0)
		return CONF_ORDER_NONE;
	return -1;
}

const char *
conf_order_name(enum conf_order o)
{
	switch (o) {
	case CONF_ORDER_SEQUENCE:
		return "sequence";
	case CONF_ORDER_INTERCHANGE:
		return "interchange";
	case CONF_ORDER_AFTER:
		return "after";
	case CONF_ORDER_NONE:
		return "none";
	case CONF_ORDER_DEFAULT:
		break;
	}
	return "default";
}

/*
 * A type name of after.TYPE and its list: 1..64 of A-Z a-z 0-9 . _ -.
 * The list is kept blank-separated, one blank between names.
 */
int
conf_after_types(const char *v, char *out, size_t outlen)
{
	size_t n = 0, w;
	const char *q;

	for (;;) {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		if (*v == '\0')
			break;
		for (q = v; *q != '\0' && *q != ' ' && *q != '\t' &&
		    *q != ','; q++)
			if (!isalnum((unsigned char)*q) && *q != '.' &&
			    *q != '_' && *q != '-')
				return -1;
		w = (size_t)(q - v);
		if (w > 64 || n + w + 2 > outlen)
			return -1;
		if (n > 0)
			out[n++] = ' ';
		memcpy(out + n, v, w);
		n += w;
		v = q;
	}
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

int
conf_after_rule(const char *type, const char *v, char *t, size_t tlen,
    char *list, size_t listlen, char *why, size_t whylen)
{
	if (conf_after_types(type, t, tlen) == -1 || strchr(t, ' ') != NULL) {
		snprintf(why, whylen, "after.TYPE: \"%.80s\" is not a message "
		    "type", type);
		return -1;
	}
	if (conf_after_types(v, list, listlen) == -1) {
		snprintf(why, whylen, "after.%s must list message types (A-Z "
		    "a-z 0-9 . _ -), blank-separated", t);
		return -1;
	}
	return 0;
}

/*
 * Append t and list to the parallel NULL-terminated lists *types and
 * *waits (NULL: empty): 0, or -1 out of memory, the lists still valid.
 */
static int
after_add(char ***types, char ***waits, const char *t, const char *list)
{
	char **nt, **nw;
	size_t n = 0;

	while (*types != NULL && (*types)[n] != NULL)
		n++;
	if ((nt = realloc(*types, (n + 2) * sizeof(*nt))) == NULL)
		return -1;
	*types = nt;
	nt[n] = NULL;
	if ((nw = realloc(*waits, (n + 2) * sizeof(*nw))) == NULL)
		return -1;
	*waits = nw;
	nw[n] = NULL;
	if ((nt[n] = strdup(t)) == NULL)
		return -1;
	if ((nw[n] = strdup(list)) == NULL) {
		free(nt[n]);
		nt[n] = NULL;
		return -1;
	}
	nt[n + 1] = NULL;
	nw[n + 1] = NULL;
	return 0;
}

static int
after_key(struct conf_parse *p, struct conf_partner *pa, const char *type,
    const char *v)
{
	char t[80], list[1024], why[256];
	size_t n;

	if (conf_after_rule(type, v, t, sizeof(t), list, sizeof(list), why,
	    sizeof(why)) == -1)
		return conf_fail(p, "%s", why);
	for (n = 0; pa->after_types != NULL && pa->after_types[n] != NULL;
	    n++)
		if (strcmp(pa->after_types[n], t) == 0)
			return conf_fail(p, "duplicate key \"after.%s\" in "
			    "[partner %s]", t, pa->name);
	if (after_add(&pa->after_types, &pa->after_waits, t, list) == -1)
		return conf_fail(p, "out of memory");
	return 1;
}

/* aliases = SENDER ...: printable ASCII without blanks, 1..128 each. */
static int
aliases_key(struct conf_parse *p, struct conf_partner *pa, const char *v)
{
	char **al = NULL, **nal, *dup, *tok, *save = NULL;
	size_t n = 0, i;

	p->alias_line[pa - p->conf->partners] = p->line;
	if ((dup = strdup(v)) == NULL)
		return conf_fail(p, "out of memory");
	for (tok = strtok_r(dup, " \t,", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t,", &save)) {
		for (i = 0; tok[i] != '\0'; i++)
			if ((unsigned char)tok[i] < 0x21 ||
			    (unsigned char)tok[i] > 0x7e)
				break;
		if (tok[i] != '\0' || i > 128) {
			free(dup);
			conf_free_strv(al);
			return conf_fail(p, "alias \"%s\" is not a valid "
			    "Sender", tok);
		}
		if ((nal = realloc(al, (n + 2) * sizeof(*al))) == NULL ||
		    (nal[n] = strdup(tok)) == NULL) {
			free(dup);
			conf_free_strv(nal != NULL ? nal : al);
			return conf_fail(p, "out of memory");
		}
		al = nal;
		al[++n] = NULL;
	}
	free(dup);
	pa->aliases = al;
	return 1;
}

int
conf_partner_key(struct conf_parse *p, const char *name, const char *key,
    const char *v)
{
	struct conf_partner *pa;
	unsigned bit = 0, *seen;
	char *end;
	long long fc;
	size_t i;
	int o;

	if ((pa = partner_get(p, name)) == NULL)
		return conf_fail(p, "out of memory");
	seen = &p->partner_seen[pa - p->conf->partners];
	if (strncmp(key, "after.", 6) == 0)
		return after_key(p, pa, key + 6, v);
	for (i = 0; i < sizeof(partner_keys) / sizeof(partner_keys[0]); i++)
		if (strcmp(key, partner_keys[i].name) == 0) {
			bit = partner_keys[i].bit;
			break;
		}
	if (bit == 0)
		return conf_fail(p, "unknown key \"%s\" in [partner %s]", key,
		    name);
	if (bit == PK_IDS || bit == PK_DIALECTS) {
		/* The table's name, which outlives inih's line. */
		int r = conf_list_key(p, "partner", partner_keys[i].name,
		    *seen & bit, v, bit == PK_IDS ? &pa->ids : &pa->dialects,
		    false);

		*seen |= bit;
		return r;
	}
	if (*seen & bit)
		return conf_fail(p, "duplicate key \"%s\" in [partner %s]",
		    key, name);
	*seen |= bit;
	switch (bit) {
	case PK_ALIASES:
		return aliases_key(p, pa, v);
	case PK_TOKEN:
		if ((pa->token_sha256 = conf_sha256_hex(v)) == NULL)
			return conf_fail(p, "token_sha256 must be a SHA-256 in "
			    "hex (64 characters 0-9a-f, as sha256sum prints "
			    "it)");
		/* A token names one partner: a shared one would let each
		 * speak for the other (the admin's: conf_keys_check()). */
		for (i = 0; &p->conf->partners[i] != pa; i++)
			if (p->conf->partners[i].token_sha256 != NULL &&
			    strcmp(p->conf->partners[i].token_sha256,
			    pa->token_sha256) == 0)
				return conf_fail(p, "token_sha256 is also "
				    "[partner %s]'s: each partner needs a "
				    "token of its own",
				    p->conf->partners[i].name);
		return 1;
	case PK_TEST:
		if (strcmp(v, "process") == 0)
			pa->test_reject = false;
		else if (strcmp(v, "reject") == 0)
			pa->test_reject = true;
		else
			return conf_fail(p, "test_interchanges must be process "
			    "or reject");
		return 1;
	case PK_ACK:
		if (strcmp(v, "none") == 0)
			pa->ack = ACK_NONE;
		else if (strcmp(v, "contrl") == 0)
			pa->ack = ACK_CONTRL;
		else if (strcmp(v, "997") == 0)
			pa->ack = ACK_997;
		else if (strcmp(v, "999") == 0)
			pa->ack = ACK_999;
		else
			return conf_fail(p, "ack must be none, contrl, 997 or "
			    "999");
		return 1;
	case PK_ORDER:
		if ((o = conf_order_parse(v)) == -1)
			return conf_fail(p, "order must be sequence, "
			    "interchange, after or none");
		pa->order = (enum conf_order)o;
		return 1;
	case PK_FIRST_CONTROL:
		if (strcmp(v, "auto") == 0) {
			pa->first_control = 0;
			return 1;
		}
		errno = 0;
		fc = strtoll(v, &end, 10);
		if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 ||
		    fc < 1)
			return conf_fail(p, "first_control must be auto or a "
			    "number from 1");
		pa->first_control = fc;
		return 1;
	}
	return conf_fail(p, "unknown key \"%s\" in [partner %s]", key, name);
}

/* Checks that need the whole file: no alias is a partner's name. */
int
conf_partner_check(struct conf_parse *p)
{
	struct conf *c = p->conf;
	size_t i, j, k;

	for (i = 0; i < c->npartners; i++) {
		for (j = 0; c->partners[i].aliases != NULL &&
		    c->partners[i].aliases[j] != NULL; j++) {
			const char *a = c->partners[i].aliases[j];

			for (k = 0; k < c->npartners; k++) {
				if (k != i &&
				    strcmp(c->partners[k].name, a) == 0) {
					p->line = p->alias_line[i];
					return conf_fail(p, "alias %s of "
					    "partner %s is itself a partner",
					    a, c->partners[i].name);

				}
			}
		}
	}
	return 1;
}

bool
conf_sender_ok(const struct conf *c, const char *partner, const char *sender)
{
	size_t i, j;

	if (strcmp(partner, sender) == 0)
		return true;
	for (i = 0; i < c->npartners; i++) {
		if (strcmp(c->partners[i].name, partner) != 0)
			continue;
		for (j = 0; c->partners[i].aliases != NULL &&
		    c->partners[i].aliases[j] != NULL; j++)
			if (strcmp(c->partners[i].aliases[j], sender) == 0)
				return true;
	}
	return false;
}

const struct conf_partner *
conf_partner(const struct conf *c, const char *partner)
{
	size_t i;

	for (i = 0; partner != NULL && i < c->npartners; i++)
		if (strcmp(c->partners[i].name, partner) == 0)
			return &c->partners[i];
	return NULL;
}

bool
conf_id_in(char *const *list, const char *id)
{
	size_t i;

	for (i = 0; list != NULL && list[i] != NULL; i++)
		if (strcmp(list[i], id) == 0)
			return true;
	return false;
}
