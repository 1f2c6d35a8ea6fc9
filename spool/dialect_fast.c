/*
 * dialect_fast.c - the dialects' simple XPath expressions evaluated
 * without libxml2's XPath machine: the same string value, about a
 * hundredth of the instructions.
 *
 * A key's expression is read for its string value, once per message;
 * libxml2 builds a node set per step and per predicate, copies every
 * string it compares and sorts what it finds, so that the built-in edifact
 * dialect's segment[@tag = 'BGM'] searches cost most of the check of an
 * interchange's message. The expressions dialects are written in are
 * mostly of a few shapes, and those are compiled here a second time into
 * a small form evaluated by walking the tree:
 *
 *   string  := 'literal' | nodes | concat(string, string, ...)
 *            | normalize-space(string) | string(string) | local-name(nodes)
 *   nodes   := path | nodes '|' nodes | '(' nodes ')' ['[1]'] ['/' steps]
 *   path    := '/' steps | steps  (relative: from the document's root
 *                                  element, the context of a key)
 *   steps   := step ('/' step)* ['/' '@' name]
 *   step    := (name | prefix:name | '*') pred*
 *   pred    := '[' integer ']' | '[' rel '=' 'literal' ']'
 *            | '[' 'literal' '=' rel ']'
 *
 * Anything else (another axis, //, a number compared, a variable, another
 * function, a prefix the dialect does not declare) is left to libxml2:
 * dialect_fast_compile() returns NULL and the key is evaluated as before.
 * So is a document this code does not read exactly as libxml2 would (an
 * entity reference under a value, a node type an XPath string value of
 * libxml2 might read differently): dialect_fast_eval() says so and the
 * caller falls back, for that expression and that document.
 *
 * Why the result is libxml2's: the string value of a node set is that of
 * its first node in document order; every step goes down the child axis
 * (or ends on an attribute), so visiting the context nodes in document
 * order and, under each, its children in order visits the selected nodes
 * in document order, and the first one found is the first. A union
 * distributes over the steps that follow it ((A|B)/c = A/c | B/c, so the
 * tail is appended to every branch at compile time) and its first node is
 * the earliest of its branches' first nodes (xmlXPathCmpNodes()). A
 * predicate [n] counts the nodes that passed the predicates before it, in
 * document order, as a forward axis does. rel = 'literal' holds when some
 * node of rel has that string value (XPath 1.0, 3.4). String values are
 * those of xmlNodeGetContent(): the text and CDATA below an element, an
 * attribute's text. tests/unit/test_dialect.c and the fuzz target for key
 * extraction compare both ways on every expression of the built-in
 * dialects (dialect_fast_selfcheck()).
 *
 * Length: over the project's 800 lines, kept as one file because it is
 * one private form read three ways: compiled (the parser above), walked
 * (dialect_fast_eval()) and read for the segment tags a key needs
 * (dialect_fast_tags()); a split would publish the form's structures in
 * a header for no other reader.
 *
 * Crash safety: nothing to say; pure computation over the caller's tree.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "dialect_int.h"

#define FAST_DEPTH	16	/* nesting of functions, unions, predicates */
#define FAST_PREDS	8	/* predicates per step */
#define FAST_POS_MAX	100000	/* largest [n] */
#define FAST_STEPS	64	/* steps of a path (the walk recurses) */

struct fpred;

struct fstep {
	bool		 attr;		/* @name: the last step */
	const char	*uri;		/* NULL: no namespace */
	const char	*local;		/* NULL: '*' */
	struct fpred	*preds;
	size_t		 npreds;
};

/* One path of a union: from the document or from the context node. */
struct fpath {
	bool		 absolute;
	struct fstep	*steps;
	size_t		 nsteps;
};

struct fnodes {
	struct fpath	*alts;
	size_t		 nalts;
};

struct fpred {
	long		 pos;		/* > 0: [pos] */
	struct fpath	 rel;		/* else: rel = lit */
	const char	*lit;
};

enum fkind { F_LIT, F_NODES, F_CONCAT, F_NORM, F_LOCAL };

struct fstr {
	enum fkind	 kind;
	const char	*lit;		/* F_LIT */
	struct fnodes	 nodes;		/* F_NODES, F_LOCAL */
	struct fstr	*args;		/* F_CONCAT, F_NORM */
	size_t		 nargs;
};

/* Everything a compiled expression owns, freed at once. */
struct fmem {
	struct fmem	*next;
	max_align_t	 data[];
};

struct dialect_fast {
	struct fmem	*mem;
	struct fstr	 top;
};

/* The parse. */
enum tok { T_END, T_BAD, T_LP, T_RP, T_LB, T_RB, T_SLASH, T_BAR, T_COMMA,
    T_EQ, T_AT, T_STAR, T_LIT, T_NUM, T_NAME };

struct fparse {
	struct dialect_fast	*f;
	const struct dialect	*d;
	const char		*s;
	size_t			 i;
	enum tok		 tok;		/* the current token */
	const char		*tv;		/* its text (T_LIT, T_NAME) */
	size_t			 tl;
	long			 num;		/* T_NUM */
	int			 depth;
	bool			 bad;
};

static void *
fmem(struct fparse *p, size_t n)
{
	struct fmem *m;

	if (p->bad || (m = calloc(1, sizeof(*m) + n)) == NULL) {
		p->bad = true;
		return NULL;
	}
	m->next = p->f->mem;
	p->f->mem = m;
	return m->data;
}

static char *
fstrndup(struct fparse *p, const char *s, size_t n)
{
	char *c;

	if ((c = fmem(p, n + 1)) == NULL)
		return NULL;
	memcpy(c, s, n);
	c[n] = '\0';
	return c;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
is_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool
is_namechar(char c)
{
	return is_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* The next token into p->tok. */
static void
next(struct fparse *p)
{
	const char *s = p->s;
	size_t i = p->i, j;
	char q;

	while (is_space(s[i]))
		i++;
	p->tv = s + i;
	p->tl = 0;
	switch (s[i]) {
	case '\0':
		p->tok = T_END;
		break;
	case '(':
		p->tok = T_LP;
		i++;
		break;
	case ')':
		p->tok = T_RP;
		i++;
		break;
	case '[':
		p->tok = T_LB;
		i++;
		break;
	case ']':
		p->tok = T_RB;
		i++;
		break;
	case '|':
		p->tok = T_BAR;
		i++;
		break;
	case ',':
		p->tok = T_COMMA;
		i++;
		break;
	case '=':
		p->tok = T_EQ;
		i++;
		break;
	case '@':
		p->tok = T_AT;
		i++;
		break;
	case '*':
		p->tok = T_STAR;
		i++;
		break;
	case '/':
		/* '//' is the descendant axis: left to libxml2. */
		p->tok = s[i + 1] == '/' ? T_BAD : T_SLASH;
		i++;
		break;
	case '\'':
	case '"':
		q = s[i];
		for (j = i + 1; s[j] != '\0' && s[j] != q; j++)
			;
		if (s[j] != q) {
			p->tok = T_BAD;
			break;
		}
		p->tok = T_LIT;
		p->tv = s + i + 1;
		p->tl = j - i - 1;
		i = j + 1;
		break;
	default:
		if (s[i] >= '0' && s[i] <= '9') {
			p->num = 0;
			for (; s[i] >= '0' && s[i] <= '9'; i++) {
				if (p->num <= FAST_POS_MAX)
					p->num = p->num * 10 + (s[i] - '0');
			}
			/* 1.5, 1e3 and the like: a number of libxml2's. */
			p->tok = s[i] == '.' || is_namechar(s[i]) ||
			    p->num < 1 || p->num > FAST_POS_MAX ? T_BAD : T_NUM;
			break;
		}
		if (!is_start(s[i])) {
			p->tok = T_BAD;
			break;
		}
		for (j = i; is_namechar(s[j]); j++)
			;
		if (s[j] == ':') {
			/* prefix:name; prefix:* and axis:: are libxml2's. */
			if (!is_start(s[j + 1])) {
				p->tok = T_BAD;
				break;
			}
			for (j++; is_namechar(s[j]); j++)
				;
		}
		p->tok = T_NAME;
		p->tl = j - i;
		i = j;
		break;
	}
	p->i = i;
	if (p->tok == T_BAD)
		p->bad = true;
}

/* The token after the current one, without moving. */
static enum tok
peek(struct fparse *p)
{
	struct fparse q = *p;

	next(&q);
	return q.tok;
}

static bool
accept(struct fparse *p, enum tok t)
{
	if (p->bad || p->tok != t)
		return false;
	next(p);
	return true;
}

static bool
expect(struct fparse *p, enum tok t)
{
	if (!accept(p, t))
		p->bad = true;
	return !p->bad;
}

static bool
name_is(const struct fparse *p, const char *n)
{
	return p->tok == T_NAME && p->tl == strlen(n) &&
	    memcmp(p->tv, n, p->tl) == 0;
}

static bool	parse_nodes(struct fparse *, struct fnodes *);
static bool	parse_steps(struct fparse *, struct fpath *, bool);

/* A name test: uri and local of the current T_NAME or T_STAR. */
static bool
parse_nametest(struct fparse *p, bool attr, const char **uri,
    const char **local)
{
	const char *c;
	size_t i;

	*uri = NULL;
	*local = NULL;
	if (!attr && accept(p, T_STAR))
		return true;
	if (p->bad || p->tok != T_NAME || peek(p) == T_LP) {
		/* text(), node(), a function: libxml2's. */
		p->bad = true;
		return false;
	}
	if ((c = memchr(p->tv, ':', p->tl)) != NULL) {
		for (i = 0; i < p->d->nns; i++)
			if (strlen(p->d->ns_prefix[i]) == (size_t)(c - p->tv) &&
			    memcmp(p->d->ns_prefix[i], p->tv, (size_t)(c -
			    p->tv)) == 0)
				break;
		if (i == p->d->nns) {
			p->bad = true;	/* undeclared: libxml2 says so */
			return false;
		}
		*uri = p->d->ns_uri[i];
		*local = fstrndup(p, c + 1, p->tl - (size_t)(c - p->tv) - 1);
	} else
		*local = fstrndup(p, p->tv, p->tl);
	next(p);
	return !p->bad;
}

static bool
parse_pred(struct fparse *p, struct fpred *pr)
{
	bool ok;

	if (++p->depth > FAST_DEPTH) {
		p->bad = true;
		return false;
	}
	if (p->tok == T_NUM) {
		pr->pos = p->num;
		next(p);
	} else if (p->tok == T_LIT) {
		pr->lit = fstrndup(p, p->tv, p->tl);
		next(p);
		(void)(expect(p, T_EQ) && parse_steps(p, &pr->rel, false));
	} else
		(void)(parse_steps(p, &pr->rel, false) && expect(p, T_EQ) &&
		    p->tok == T_LIT && (pr->lit = fstrndup(p, p->tv,
		    p->tl)) != NULL && (next(p), true));
	ok = expect(p, T_RB);
	p->depth--;
	return ok;
}

/* step ('/' step)*: a relative path's steps, appended to path. */
static bool
parse_steps(struct fparse *p, struct fpath *path, bool absolute)
{
	struct fstep st, *ns;
	struct fpred preds[FAST_PREDS], *np;

	path->absolute = absolute;
	for (;;) {
		memset(&st, 0, sizeof(st));
		if (path->nsteps > 0 && path->steps[path->nsteps - 1].attr) {
			p->bad = true;	/* @a/b: nothing, libxml2's */
			return false;
		}
		if (path->nsteps == FAST_STEPS) {
			p->bad = true;
			return false;
		}
		st.attr = accept(p, T_AT);
		if (!parse_nametest(p, st.attr, &st.uri, &st.local))
			return false;
		while (!st.attr && accept(p, T_LB)) {
			if (st.npreds == FAST_PREDS) {
				p->bad = true;
				return false;
			}
			memset(&preds[st.npreds], 0, sizeof(preds[0]));
			if (!parse_pred(p, &preds[st.npreds]))
				return false;
			st.npreds++;
		}
		if (st.npreds > 0) {
			if ((np = fmem(p, st.npreds * sizeof(*np))) == NULL)
				return false;
			memcpy(np, preds, st.npreds * sizeof(*np));
			st.preds = np;
		}
		if ((ns = fmem(p, (path->nsteps + 1) * sizeof(*ns))) == NULL)
			return false;
		if (path->nsteps > 0)
			memcpy(ns, path->steps, path->nsteps * sizeof(*ns));
		ns[path->nsteps++] = st;
		path->steps = ns;
		if (!accept(p, T_SLASH))
			return !p->bad;
	}
}

/* Append tail's steps to every branch of n: (A|B)/t = A/t | B/t. */
static bool
append_tail(struct fparse *p, struct fnodes *n, const struct fpath *tail)
{
	struct fstep *ns;
	size_t i;

	for (i = 0; i < n->nalts; i++) {
		struct fpath *a = &n->alts[i];

		if ((a->nsteps > 0 && a->steps[a->nsteps - 1].attr) ||
		    a->nsteps + tail->nsteps > FAST_STEPS) {
			p->bad = true;
			return false;
		}
		if ((ns = fmem(p, (a->nsteps + tail->nsteps) *
		    sizeof(*ns))) == NULL)
			return false;
		if (a->nsteps > 0)
			memcpy(ns, a->steps, a->nsteps * sizeof(*ns));
		memcpy(ns + a->nsteps, tail->steps, tail->nsteps *
		    sizeof(*ns));
		a->steps = ns;
		a->nsteps += tail->nsteps;
	}
	return true;
}

/* One operand of a union. */
static bool
parse_operand(struct fparse *p, struct fnodes *n)
{
	struct fpath tail;
	struct fpath *a;
	bool ok;

	memset(n, 0, sizeof(*n));
	if (accept(p, T_LP)) {
		if (++p->depth > FAST_DEPTH) {
			p->bad = true;
			return false;
		}
		ok = parse_nodes(p, n) && expect(p, T_RP);
		p->depth--;
		if (!ok)
			return false;
		if (accept(p, T_LB)) {
			/* (nodes)[1]: the first node, as nodes' string value
			 * takes anyway; (nodes)[1]/more is libxml2's. */
			if (p->tok != T_NUM || p->num != 1) {
				p->bad = true;
				return false;
			}
			next(p);
			if (!expect(p, T_RB))
				return false;
			if (p->tok == T_SLASH) {
				p->bad = true;
				return false;
			}
			return true;
		}
		if (!accept(p, T_SLASH))
			return !p->bad;
		memset(&tail, 0, sizeof(tail));
		return parse_steps(p, &tail, false) && append_tail(p, n, &tail);
	}
	if ((a = fmem(p, sizeof(*a))) == NULL)
		return false;
	n->alts = a;
	n->nalts = 1;
	if (accept(p, T_SLASH))
		return parse_steps(p, a, true);
	return parse_steps(p, a, false);
}

/* nodes ('|' nodes)* */
static bool
parse_nodes(struct fparse *p, struct fnodes *n)
{
	struct fnodes o;
	struct fpath *na;

	if (!parse_operand(p, n))
		return false;
	while (accept(p, T_BAR)) {
		if (!parse_operand(p, &o))
			return false;
		if ((na = fmem(p, (n->nalts + o.nalts) * sizeof(*na))) == NULL)
			return false;
		memcpy(na, n->alts, n->nalts * sizeof(*na));
		memcpy(na + n->nalts, o.alts, o.nalts * sizeof(*na));
		n->alts = na;
		n->nalts += o.nalts;
	}
	return !p->bad;
}

static bool
parse_str(struct fparse *p, struct fstr *s)
{
	struct fstr args[32], *na;
	size_t n = 0;
	bool ok = false;
	int fn;

	memset(s, 0, sizeof(*s));
	if (++p->depth > FAST_DEPTH)
		goto bad;
	if (p->tok == T_LIT) {
		s->kind = F_LIT;
		s->lit = fstrndup(p, p->tv, p->tl);
		next(p);
		ok = !p->bad;
	} else if (p->tok == T_NAME && peek(p) == T_LP) {
		/* concat() of two or more; string(x), normalize-space(x)
		 * and local-name(x) of one (without, the context node's:
		 * libxml2's). string(x) is x's value: a concat of one. */
		if (name_is(p, "concat"))
			fn = 0;
		else if (name_is(p, "string"))
			fn = 1;
		else if (name_is(p, "normalize-space"))
			fn = 2;
		else if (name_is(p, "local-name"))
			fn = 3;
		else
			goto bad;
		s->kind = fn == 2 ? F_NORM : fn == 3 ? F_LOCAL : F_CONCAT;
		next(p);
		next(p);
		if (fn == 3) {
			ok = parse_nodes(p, &s->nodes) && expect(p, T_RP);
			goto out;
		}
		do {
			if (n == sizeof(args) / sizeof(args[0]) ||
			    !parse_str(p, &args[n]))
				goto bad;
			n++;
		} while (accept(p, T_COMMA));
		if (!expect(p, T_RP) || (fn == 0 && n < 2) || (fn != 0 &&
		    n != 1) || (na = fmem(p, n * sizeof(*na))) == NULL)
			goto bad;
		memcpy(na, args, n * sizeof(*na));
		s->args = na;
		s->nargs = n;
		ok = true;
	} else {
		s->kind = F_NODES;
		ok = parse_nodes(p, &s->nodes);
	}
	goto out;
bad:
	p->bad = true;
	ok = false;
out:
	p->depth--;
	return ok && !p->bad;
}

void
dialect_fast_free(struct dialect_fast *f)
{
	struct fmem *m, *next_m;

	if (f == NULL)
		return;
	for (m = f->mem; m != NULL; m = next_m) {
		next_m = m->next;
		free(m);
	}
	free(f);
}

struct dialect_fast *
dialect_fast_compile(const struct dialect *d, const char *src)
{
	struct dialect_fast *f;
	struct fparse p;
	bool ok;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	memset(&p, 0, sizeof(p));
	p.f = f;
	p.d = d;
	p.s = src;
	next(&p);
	ok = parse_str(&p, &f->top) && p.tok == T_END;
	if (!ok || p.bad) {
		dialect_fast_free(f);
		return NULL;
	}
	return f;
}

/* The evaluation. */
struct feval {
	xmlDocPtr		 doc;
	xmlNodePtr		 ctx;
	struct dialect_fbuf	*scratch;
	bool			 bad;	/* libxml2 must say */
	bool			 oom;
};

static bool
buf_add(struct feval *ev, struct dialect_fbuf *b, const char *s, size_t n)
{
	size_t cap;
	char *p;

	if (b->cap - b->len <= n) {
		cap = b->cap > 0 ? b->cap : 64;
		while (cap - b->len <= n)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			ev->oom = true;
			return false;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return true;
}

static const char *
content(xmlNodePtr n)
{
	return n->content != NULL ? (const char *)n->content : "";
}

static bool
is_text(xmlNodePtr n)
{
	return n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE;
}

/* n's string value appended to b (xmlNodeGetContent()); false: ev->bad
 * or ev->oom. */
static bool
strval(struct feval *ev, xmlNodePtr n, struct dialect_fbuf *b)
{
	xmlNodePtr c;

	switch (n->type) {
	case XML_ATTRIBUTE_NODE:
		for (c = n->children; c != NULL; c = c->next) {
			if (!is_text(c)) {
				ev->bad = true;
				return false;
			}
			if (!buf_add(ev, b, content(c), strlen(content(c))))
				return false;
		}
		return true;
	case XML_TEXT_NODE:
	case XML_CDATA_SECTION_NODE:
		return buf_add(ev, b, content(n), strlen(content(n)));
	case XML_ELEMENT_NODE:
		break;
	default:
		ev->bad = true;
		return false;
	}
	/* An element: its text and CDATA in document order. */
	c = n->children;
	while (c != NULL) {
		switch (c->type) {
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
			if (!buf_add(ev, b, content(c), strlen(content(c))))
				return false;
			break;
		case XML_ELEMENT_NODE:
			if (c->children != NULL) {
				c = c->children;
				continue;
			}
			break;
		case XML_COMMENT_NODE:
		case XML_PI_NODE:
			break;
		default:
			ev->bad = true;	/* an entity reference, ... */
			return false;
		}
		while (c->next == NULL && c->parent != n) {
			c = c->parent;
			if (c == NULL) {
				ev->bad = true;
				return false;
			}
		}
		c = c->next;
	}
	return true;
}

/* n's string value is lit. */
static bool
strval_is(struct feval *ev, xmlNodePtr n, const char *lit)
{
	xmlNodePtr c = n->children;

	/* The usual value: one text node (the EDI tree's every value). */
	if ((n->type == XML_ELEMENT_NODE || n->type == XML_ATTRIBUTE_NODE) &&
	    c != NULL && c->next == NULL && is_text(c))
		return strcmp(content(c), lit) == 0;
	if ((n->type == XML_ELEMENT_NODE || n->type == XML_ATTRIBUTE_NODE) &&
	    c == NULL)
		return lit[0] == '\0';
	ev->scratch->len = 0;
	if (!buf_add(ev, ev->scratch, "", 0) || !strval(ev, n, ev->scratch))
		return false;
	return strcmp(ev->scratch->p, lit) == 0;
}

static bool
name_ok(const struct fstep *st, xmlNodePtr n)
{
	if (st->local == NULL)
		return true;		/* '*' */
	if (strcmp((const char *)n->name, st->local) != 0)
		return false;
	if (st->uri == NULL)
		return n->ns == NULL;
	return n->ns != NULL && n->ns->href != NULL &&
	    strcmp((const char *)n->ns->href, st->uri) == 0;
}

/* What a walk looks for: the first node, or one whose value is lit. */
struct fwant {
	const char	*lit;		/* NULL: the first node */
	xmlNodePtr	 found;
};

static bool	walk(struct feval *, const struct fstep *, size_t, xmlNodePtr,
		    struct fwant *);

/* Some node of rel from n has the string value lit. */
static bool
pred_eq(struct feval *ev, const struct fpred *pr, xmlNodePtr n)
{
	struct fwant w = { pr->lit, NULL };

	return walk(ev, pr->rel.steps, pr->rel.nsteps, n, &w);
}

/*
 * The nodes of steps[0, ns) from n, in document order, until w is
 * satisfied: true, w->found set. False: none (or ev->bad, ev->oom).
 */
static bool
walk(struct feval *ev, const struct fstep *steps, size_t ns, xmlNodePtr n,
    struct fwant *w)
{
	const struct fstep *st = &steps[0];
	long cnt[FAST_PREDS];
	xmlNodePtr c;
	xmlAttrPtr a;
	size_t k;

	if (ns == 0) {
		if (w->lit != NULL && !strval_is(ev, n, w->lit))
			return false;
		w->found = n;
		return true;
	}
	if (st->attr) {
		if (n->type != XML_ELEMENT_NODE)
			return false;
		for (a = n->properties; a != NULL; a = a->next)
			if (name_ok(st, (xmlNodePtr)a))
				return walk(ev, steps + 1, ns - 1,
				    (xmlNodePtr)a, w);
		return false;
	}
	if (n->type != XML_ELEMENT_NODE && n->type != XML_DOCUMENT_NODE)
		return false;
	memset(cnt, 0, sizeof(cnt));
	for (c = n->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || !name_ok(st, c))
			continue;
		for (k = 0; k < st->npreds; k++) {
			const struct fpred *pr = &st->preds[k];

			if (pr->pos > 0) {
				if (++cnt[k] == pr->pos)
					continue;
				if (cnt[k] > pr->pos)
					return false;	/* none after it */
				break;
			}
			if (!pred_eq(ev, pr, c)) {
				if (ev->bad || ev->oom)
					return false;
				break;
			}
		}
		if (k < st->npreds)
			continue;
		if (walk(ev, steps + 1, ns - 1, c, w))
			return true;
		if (ev->bad || ev->oom)
			return false;
	}
	return false;
}

/* The first node of nodes in document order; NULL: none. */
static xmlNodePtr
first(struct feval *ev, const struct fnodes *nodes)
{
	xmlNodePtr best = NULL;
	struct fwant w;
	size_t i;

	for (i = 0; i < nodes->nalts; i++) {
		const struct fpath *a = &nodes->alts[i];

		w.lit = NULL;
		w.found = NULL;
		if (!walk(ev, a->steps, a->nsteps, a->absolute ?
		    (xmlNodePtr)ev->doc : ev->ctx, &w)) {
			if (ev->bad || ev->oom)
				return NULL;
			continue;
		}
		if (best == NULL)
			best = w.found;
		else if (best != w.found) {
			switch (xmlXPathCmpNodes(best, w.found)) {
			case 1:		/* best first */
				break;
			case -1:
				best = w.found;
				break;
			default:
				ev->bad = true;
				return NULL;
			}
		}
	}
	return best;
}

/* s's string value appended to b. */
static bool
eval_str(struct feval *ev, const struct fstr *s, struct dialect_fbuf *b)
{
	xmlNodePtr n;
	size_t i, o;
	char *p, *q;
	bool blank;

	switch (s->kind) {
	case F_LIT:
		return buf_add(ev, b, s->lit, strlen(s->lit));
	case F_NODES:
		if ((n = first(ev, &s->nodes)) == NULL)
			return !ev->bad && !ev->oom;
		return strval(ev, n, b);
	case F_LOCAL:
		if ((n = first(ev, &s->nodes)) == NULL)
			return !ev->bad && !ev->oom;
		/* libxml2's: a name starting with a blank is its own. */
		if (n->name == NULL || n->name[0] == ' ')
			return true;
		return buf_add(ev, b, (const char *)n->name,
		    strlen((const char *)n->name));
	case F_CONCAT:
		for (i = 0; i < s->nargs; i++)
			if (!eval_str(ev, &s->args[i], b))
				return false;
		return true;
	case F_NORM:
		/* XPath's normalize-space() on the argument's value. */
		o = b->len;
		if (!eval_str(ev, &s->args[0], b))
			return false;
		p = q = b->p + o;
		blank = false;
		while (*p == ' ' || (*p >= '\t' && *p <= '\n') || *p == '\r')
			p++;
		for (; *p != '\0'; p++) {
			if (*p == ' ' || (*p >= '\t' && *p <= '\n') ||
			    *p == '\r')
				blank = true;
			else {
				if (blank)
					*q++ = ' ';
				blank = false;
				*q++ = *p;
			}
		}
		*q = '\0';
		b->len = (size_t)(q - b->p);
		return true;
	}
	ev->bad = true;
	return false;
}

int
dialect_fast_eval(const struct dialect_fast *f, xmlDocPtr doc,
    xmlNodePtr ctx, struct dialect_fbuf *out, struct dialect_fbuf *scratch)
{
	struct feval ev;

	memset(&ev, 0, sizeof(ev));
	ev.doc = doc;
	ev.ctx = ctx;
	ev.scratch = scratch;
	out->len = 0;
	if (!buf_add(&ev, out, "", 0))
		return -1;
	if (eval_str(&ev, &f->top, out))
		return 1;
	return ev.oom ? -1 : 0;
}

void
dialect_fbuf_free(struct dialect_fbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/*
 * Which segments' values an EDI dialect reads (dialect_fast_tags()).
 *
 * A tree whose other segments are left bare (the segment and its
 * attributes, no element under it: edi_entry_tree_tags()) gives every
 * expression the value of the whole tree when no walk goes below a
 * segment it did not choose by its tag, nor takes the string value of
 * such a segment or of what holds segments. The walk reads a node's
 * children at a step and a node's text for a value; so each step is
 * followed with what its context may be: OUT, anything not below a
 * chosen segment (the document, an interchange, a message: it may hold
 * bare segments); BARE, maybe a bare segment (a step named segment or *
 * without a [@tag = 'T'] predicate): its attributes only; CHOSEN, a
 * segment chosen by [@tag = 'T'] (T is then built whole) or below one.
 * A value is read at an attribute, or at a node CHOSEN.
 *
 * The other segments may even be left out (edi_entry_tree_tags() with
 * omit) when, moreover, every step that may find a segment outside a
 * chosen one tests its tag first ([@tag = 'T'] its first predicate): a
 * segment left out is then one such a step would have dropped at once,
 * and nothing else counts or names segments.
 */
enum fstate { S_OUT, S_BARE, S_CHOSEN };

struct ftags {
	char	***tags;
	size_t	  *ntags;
	bool	   oom;
	bool	   omit;	/* the others may be left out */
};

static bool
is_tag_test(const struct fpred *pr)
{
	return pr->pos == 0 && pr->rel.nsteps == 1 && pr->rel.steps[0].attr &&
	    pr->rel.steps[0].uri == NULL &&
	    strcmp(pr->rel.steps[0].local, "tag") == 0;
}

static bool
tags_add(struct ftags *ts, const char *t)
{
	char **n;
	size_t i;

	for (i = 0; i < *ts->ntags; i++)
		if (strcmp((*ts->tags)[i], t) == 0)
			return true;
	if ((n = realloc(*ts->tags, (*ts->ntags + 2) * sizeof(*n))) == NULL) {
		ts->oom = true;
		return false;
	}
	*ts->tags = n;
	if ((n[*ts->ntags] = strdup(t)) == NULL) {
		ts->oom = true;
		return false;
	}
	n[++*ts->ntags] = NULL;
	return true;
}

static bool
path_tags(const struct fpath *p, enum fstate st, bool value, struct ftags *ts)
{
	const struct fstep *s;
	const struct fpred *pr;
	enum fstate node;
	size_t i, k;
	bool seg;

	for (i = 0; i < p->nsteps; i++) {
		s = &p->steps[i];
		if (s->attr)
			return true;	/* the last step; kept everywhere */
		if (st == S_BARE)
			return false;	/* below a bare segment */
		seg = s->local == NULL || (s->uri == NULL &&
		    strcmp(s->local, "segment") == 0);
		node = st == S_CHOSEN ? S_CHOSEN : seg ? S_BARE : S_OUT;
		if (node == S_BARE && (s->npreds == 0 ||
		    !is_tag_test(&s->preds[0])))
			ts->omit = false;
		/* The walk tries a node's predicates in order and stops at
		 * the first that fails: past [@tag = 'T'], the node is a T. */
		for (k = 0; k < s->npreds; k++) {
			pr = &s->preds[k];
			if (pr->pos > 0)
				continue;
			if (!path_tags(&pr->rel, node, true, ts))
				return false;
			if (node == S_BARE && is_tag_test(pr)) {
				if (!tags_add(ts, pr->lit))
					return false;
				node = S_CHOSEN;
			}
		}
		st = node;
	}
	return !value || st == S_CHOSEN;
}

static bool
nodes_tags(const struct fnodes *n, bool value, struct ftags *ts)
{
	size_t i;

	for (i = 0; i < n->nalts; i++)
		if (!path_tags(&n->alts[i], S_OUT, value, ts))
			return false;
	return true;
}

static bool
str_tags(const struct fstr *s, struct ftags *ts)
{
	size_t i;

	switch (s->kind) {
	case F_LIT:
		return true;
	case F_NODES:
		return nodes_tags(&s->nodes, true, ts);
	case F_LOCAL:
		return nodes_tags(&s->nodes, false, ts);
	case F_CONCAT:
	case F_NORM:
		for (i = 0; i < s->nargs; i++)
			if (!str_tags(&s->args[i], ts))
				return false;
		return true;
	}
	return false;
}

int
dialect_fast_tags(const struct dialect_fast *f, char ***tags, size_t *ntags,
    bool *omit)
{
	struct ftags ts = { tags, ntags, false, true };

	if (str_tags(&f->top, &ts)) {
		if (!ts.omit)
			*omit = false;
		return 1;
	}
	return ts.oom ? -1 : 0;
}
