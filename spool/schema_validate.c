/*
 * schema_validate.c - validate a message against the schema of its type
 * and turn libxml2's first error into one sentence for a partner's EDI
 * team: the element's path below the root ("Body/Line[2]/Quantity"),
 * what is wrong in plain words ("'abc' is not a valid integer"), and
 * the line.
 *
 * The words come from libxml2's error code and the strings it gives
 * with it (the value, the facet, the type named at the end of its
 * message); where no case fits, libxml2's own text is kept. Everything
 * taken from the document is copied as printable ASCII and cut to fit
 * (schema_copy()), so a partner's bytes never reach a log line raw.
 * Validation uses the entry's one validation context: one thread at a
 * time per set (schema.h).
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include "error.h"
#include "schema.h"
#include "schema_int.h"
#include "xmlquiet.h"

#define SCHEMA_PATH_DEPTH	6	/* path segments shown, nearest first */

/* Integer types, by name, of XML Schema and of schemas/include/common.xsd. */
static const char *const schema_integer_types[] = {
	"xs:long", "xs:int", "xs:short", "xs:byte", "xs:integer",
	"xs:nonNegativeInteger", "xs:positiveInteger", "xs:unsignedLong",
	"xs:unsignedInt", "xs:nonPositiveInteger", "xs:negativeInteger",
	"Long", "Quantity", "PositiveQuantity", "SignedQuantity", "Amount",
	"LineNumber", "SenderSequenceNumber", "ReceiverSequenceNumber",
	NULL
};

/* Whether a is an element named like b, in the same namespace. */
static int
schema_same_name(xmlNodePtr a, xmlNodePtr b)
{
	if (a->type != XML_ELEMENT_NODE || !xmlStrEqual(a->name, b->name))
		return 0;
	if (a->ns == NULL || b->ns == NULL)
		return a->ns == b->ns;
	return xmlStrEqual(a->ns->href, b->ns->href);
}

/* One path segment: the name, and [k] if siblings share the name. */
static void
schema_segment(xmlNodePtr n, char *buf, size_t size)
{
	xmlNodePtr c;
	size_t k = 1, same = 0;
	char name[SCHEMA_NAME_MAX];

	schema_copy(name, sizeof(name), (const char *)n->name);
	if (n->parent != NULL && n->parent->type == XML_ELEMENT_NODE) {
		for (c = n->parent->children; c != NULL; c = c->next) {
			if (!schema_same_name(c, n))
				continue;
			same++;
			if (c == n)
				k = same;
		}
	}
	if (same > 1)
		schema_cat(buf, size, "%s[%zu]", name, k);
	else
		schema_cat(buf, size, "%s", name);
}

/*
 * The path of element n below the root ("Body/Line[2]/Quantity"), the
 * root's name for the root itself, with "/@attr" for an attribute. Only
 * the SCHEMA_PATH_DEPTH nearest segments are shown.
 */
static void
schema_path(xmlNodePtr n, const char *attr, char *buf, size_t size)
{
	xmlNodePtr seg[SCHEMA_PATH_DEPTH], p;
	size_t depth = 0, i;
	int more = 0;

	buf[0] = '\0';
	if (n == NULL || n->type != XML_ELEMENT_NODE)
		return;
	for (p = n; p != NULL && p->type == XML_ELEMENT_NODE; p = p->parent) {
		if (p != n && (p->parent == NULL ||
		    p->parent->type != XML_ELEMENT_NODE))
			break;		/* p is the root: not shown */
		if (depth == SCHEMA_PATH_DEPTH) {
			more = 1;
			break;
		}
		seg[depth++] = p;
	}
	if (more)
		schema_cat(buf, size, ".../");
	for (i = depth; i > 0; i--) {
		schema_segment(seg[i - 1], buf, size);
		if (i > 1)
			schema_cat(buf, size, "/");
	}
	if (attr != NULL && attr[0] != '\0')
		schema_cat(buf, size, "/@%s", attr);
}

/*
 * Split libxml2's "Element 'X', attribute 'a': text" into the attribute
 * name (copied into attr, "" if none) and the text (returned). XML names
 * hold no quote or blank, so the first "': " ends the prefix.
 */
static const char *
schema_strip_prefix(const char *msg, char *attr, size_t size)
{
	const char *end, *a;
	size_t len;

	attr[0] = '\0';
	if (strncmp(msg, "Element '", 9) != 0 ||
	    (end = strstr(msg, "': ")) == NULL)
		return msg;
	if ((a = strstr(msg, "', attribute '")) != NULL && a < end) {
		a += strlen("', attribute '");
		len = (size_t)(end - a);
		if (len >= size)
			len = size - 1;
		memcpy(attr, a, len);
		attr[len] = '\0';
	}
	return end + 3;
}

/* Copy what follows key in s up to the next stop character into buf. */
static int
schema_after(const char *s, const char *key, const char *stop, char *buf,
    size_t size)
{
	const char *p;
	size_t len;

	if ((p = strstr(s, key)) == NULL)
		return 0;
	p += strlen(key);
	len = strcspn(p, stop);
	if (len >= size)
		len = size - 1;
	memcpy(buf, p, len);
	buf[len] = '\0';
	return 1;
}

static int
schema_is_integer_type(const char *name)
{
	size_t i;

	for (i = 0; schema_integer_types[i] != NULL; i++)
		if (strcmp(name, schema_integer_types[i]) == 0)
			return 1;
	return 0;
}

/* Whether v is [+-]digits, i.e. an integer that is merely too large. */
static int
schema_looks_numeric(const char *v)
{
	if (*v == '+' || *v == '-')
		v++;
	if (*v == '\0')
		return 0;
	for (; *v != '\0'; v++)
		if (*v < '0' || *v > '9')
			return 0;
	return 1;
}

/* "'abc' is not a valid integer", from a datatype error. */
static void
schema_what_value(const struct schema_xerr *x, char *buf, size_t size)
{
	const char *tname = x->tname;

	if (schema_is_integer_type(tname)) {
		if (schema_looks_numeric(x->str1))
			schema_cat(buf, size, "'%s' is out of range for a "
			    "64-bit integer", x->str1);
		else
			schema_cat(buf, size, "'%s' is not a valid integer",
			    x->str1);
	} else if (strcmp(tname, "xs:date") == 0)
		schema_cat(buf, size, "'%s' is not a valid date "
		    "(YYYY-MM-DD)", x->str1);
	else if (strcmp(tname, "xs:dateTime") == 0 ||
	    strcmp(tname, "Timestamp") == 0)
		schema_cat(buf, size, "'%s' is not a valid date and time "
		    "(YYYY-MM-DDThh:mm:ss, time zone optional)", x->str1);
	else if (tname[0] != '\0')
		schema_cat(buf, size, "'%s' is not a valid value of type %s",
		    x->str1, tname);
	else
		schema_cat(buf, size, "'%s' is not a valid value", x->str1);
}

/* "... not expected. Expected is one of ( A, B )." and the like. */
static void
schema_what_content(const char *text, char *buf, size_t size)
{
	char list[160];
	int one;

	one = schema_after(text, "Expected is ( ", ")", list, sizeof(list));
	if (!one && !schema_after(text, "Expected is one of ( ", ")", list,
	    sizeof(list)))
		list[0] = '\0';
	schema_rtrim(list);
	if (strstr(text, "Missing child element") != NULL)
		schema_cat(buf, size, "a required element is missing");
	else if (strstr(text, "not expected") != NULL)
		schema_cat(buf, size, "this element is not allowed here");
	else {
		schema_cat(buf, size, "%s", text);
		return;
	}
	if (list[0] != '\0')
		schema_cat(buf, size, "; expected %s%s", one ? "" : "one of ",
		    list);
}

/* The pattern facet, in words where the pattern is one of ours. */
static void
schema_what_pattern(const struct schema_xerr *x, char *buf, size_t size)
{
	if (x->str1[0] == '\0')
		schema_cat(buf, size, "must not be empty");
	else if (strncmp(x->str2, "[ -~]", 5) == 0)
		schema_cat(buf, size, "'%s' contains a character that is not "
		    "printable ASCII", x->str1);
	else if (strstr(x->str2, "\\p{Cc}") != NULL &&
	    strstr(x->str2, "\\s") != NULL)
		schema_cat(buf, size, "'%s' contains a blank, a control or a "
		    "format character", x->str1);
	else if (strstr(x->str2, "\\p{Cc}") != NULL)
		schema_cat(buf, size, "'%s' contains a control or format "
		    "character", x->str1);
	else
		schema_cat(buf, size, "'%s' does not match the pattern %s",
		    x->str1, x->str2);
}

/* What is wrong, in words, without the path or the line. */
static void
schema_what(const struct schema_xerr *x, const char *type, const char *text,
    char *buf, size_t size)
{
	char key[64];

	buf[0] = '\0';
	switch (x->code) {
	case XML_SCHEMAV_CVC_DATATYPE_VALID_1_2_1:
	case XML_SCHEMAV_CVC_DATATYPE_VALID_1_2_2:
	case XML_SCHEMAV_CVC_DATATYPE_VALID_1_2_3:
		schema_what_value(x, buf, size);
		break;
	case XML_SCHEMAV_CVC_MININCLUSIVE_VALID:
		schema_cat(buf, size, "'%s' is less than the minimum %s",
		    x->str1, x->str2);
		break;
	case XML_SCHEMAV_CVC_MAXINCLUSIVE_VALID:
		schema_cat(buf, size, "'%s' is greater than the maximum %s",
		    x->str1, x->str2);
		break;
	case XML_SCHEMAV_CVC_MINEXCLUSIVE_VALID:
		schema_cat(buf, size, "'%s' must be greater than %s",
		    x->str1, x->str2);
		break;
	case XML_SCHEMAV_CVC_MAXEXCLUSIVE_VALID:
		schema_cat(buf, size, "'%s' must be less than %s",
		    x->str1, x->str2);
		break;
	case XML_SCHEMAV_CVC_PATTERN_VALID:
		schema_what_pattern(x, buf, size);
		break;
	case XML_SCHEMAV_CVC_MINLENGTH_VALID:
		if (strcmp(x->str1, "0") == 0)
			schema_cat(buf, size, "must not be empty");
		else
			schema_cat(buf, size, "is %s characters long, shorter "
			    "than the minimum %s", x->str1, x->str2);
		break;
	case XML_SCHEMAV_CVC_MAXLENGTH_VALID:
		schema_cat(buf, size, "is %s characters long, longer than the "
		    "maximum %s", x->str1, x->str2);
		break;
	case XML_SCHEMAV_CVC_ENUMERATION_VALID:
		schema_cat(buf, size, "'%s' is not one of the allowed values",
		    x->str1);
		break;
	case XML_SCHEMAV_ELEMENT_CONTENT:
	case XML_SCHEMAV_CVC_COMPLEX_TYPE_2_4:
		schema_what_content(text, buf, size);
		break;
	case XML_SCHEMAV_CVC_COMPLEX_TYPE_2_3:
		schema_cat(buf, size, "text is not allowed here, only "
		    "elements");
		break;
	case XML_SCHEMAV_CVC_COMPLEX_TYPE_3_2_1:
	case XML_SCHEMAV_CVC_COMPLEX_TYPE_3_2_2:
		schema_cat(buf, size, "this attribute is not allowed here");
		break;
	case XML_SCHEMAV_CVC_COMPLEX_TYPE_4:
		schema_cat(buf, size, "the attribute '%s' is required but "
		    "missing", x->str1);
		break;
	case XML_SCHEMAV_CVC_IDC:
		if (strstr(x->str2, "'UniqueLineNumber'") != NULL &&
		    schema_after(x->str1, "['", "'", key, sizeof(key)))
			schema_cat(buf, size, "line number %s is used more "
			    "than once", key);
		else
			schema_cat(buf, size, "%s", text);
		break;
	case XML_SCHEMAV_CVC_ELT_1:
		schema_cat(buf, size, "a %s message must have the root "
		    "element %s, without a namespace", type, type);
		break;
	case XML_SCHEMAV_DOCUMENT_ELEMENT_MISSING:
		schema_cat(buf, size, "the document has no root element");
		break;
	default:
		schema_cat(buf, size, "%s", text);
		break;
	}
}

int
schema_validate(struct schema_set *set, const char *type, xmlDocPtr doc,
    struct spool_error *err)
{
	struct schema_entry *ent;
	struct xmlquiet q;
	struct schema_xerr x;
	xmlSchemaValidCtxtPtr vctxt;
	const char *text;
	char attr[SCHEMA_NAME_MAX], where[384], what[320];
	long line;
	int rc;

	spool_clearerr(err);
	if ((ent = schema_find(set, type)) == NULL)
		return 0;
	if (doc == NULL) {
		spool_seterr(err, "no document to validate as %s", type);
		return -1;
	}
	/* The entry's context, unless another thread has it: then one of
	 * this call's own (the compiled schema is shared read-only). */
	vctxt = ent->vctxt;
	if (atomic_exchange(&ent->busy, true) &&
	    (vctxt = xmlSchemaNewValidCtxt(ent->schema)) == NULL) {
		spool_seterr(err, "%s message could not be validated: out of "
		    "memory", type);
		return -1;
	}
	memset(&x, 0, sizeof(x));
	xmlSchemaSetValidStructuredErrors(vctxt, schema_xerr_cb, &x);
	xmlquiet_begin(&q, schema_xerr_cb, &x);
	rc = xmlSchemaValidateDoc(vctxt, doc);
	xmlquiet_end(&q);
	xmlSchemaSetValidStructuredErrors(vctxt, schema_xerr_cb, NULL);
	if (vctxt != ent->vctxt)
		xmlSchemaFreeValidCtxt(vctxt);
	else
		atomic_store(&ent->busy, false);
	if (rc == 0)
		return 0;
	if (rc < 0 || x.level == 0) {
		spool_seterr(err, "%s message could not be validated: "
		    "libxml2 internal error %d", type, rc);
		return -1;
	}

	text = schema_strip_prefix(x.msg, attr, sizeof(attr));
	schema_path(x.node, attr, where, sizeof(where));
	schema_what(&x, type, text, what, sizeof(what));
	line = x.node != NULL ? xmlGetLineNo(x.node) : -1;
	if (line <= 0 || line > INT_MAX)
		line = x.line > 0 ? x.line : 0;
	if (err != NULL)
		err->line = (int)line;
	if (where[0] != '\0' && line > 0)
		spool_seterr(err, "%s: %s (line %ld)", where, what, line);
	else if (where[0] != '\0')
		spool_seterr(err, "%s: %s", where, what);
	else if (line > 0)
		spool_seterr(err, "%s (line %ld)", what, line);
	else
		spool_seterr(err, "%s", what);
	return -1;
}
