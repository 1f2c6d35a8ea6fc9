/*
 * edi.h - the EDIFACT and X12 tokenizer (DESIGN 15).
 *
 * edi_read() reads a whole file (one or more interchanges, UNA/UNB..UNZ
 * or ISA..IEA) into a list of struct edi_interchange: the envelope, the
 * groups and the messages, each message with its byte range in the
 * caller's buffer and its own verdict. edi_message_tree() lays one
 * message out, with its envelope, as the XML tree of spoold.conf(5),
 * section EDI TREE. The caller's buffer is never modified; the structs
 * own copies of every string they hold.
 *
 * Ownership: edi_read() allocates the list; edi_free() frees it all.
 * edi_message_tree() returns an xmlDoc the caller frees with xmlFreeDoc,
 * edi_message_tree_pooled() one it frees with edi_tree_free().
 */
#ifndef SPOOL_EDI_H
#define SPOOL_EDI_H

#include <stddef.h>

#include <libxml/tree.h>

#include "error.h"

enum edi_syntax {
	EDI_NONE = 0,
	EDI_EDIFACT,
	EDI_X12
};

/* Bounds on what one file may hold; 0 is not "unlimited" but 0. */
struct edi_limits {
	size_t	max_interchanges;	/* per file */
	size_t	max_messages;		/* per file */
	size_t	max_segments;		/* per file */
	size_t	max_elements;		/* data elements per segment */
	size_t	max_components;		/* components per element */
	size_t	max_repetitions;	/* repetitions per element */
	size_t	max_value;		/* bytes in one value */
};

struct edi_group {			/* UNG..UNE, GS..GE */
	char	*id;			/* UNG 0038, GS01 */
	char	*sender;		/* UNG 0040, GS02 */
	char	*recipient;		/* UNG 0044, GS03 */
	char	*date, *time;		/* UNG 0017/0019, GS04/GS05 */
	char	*control;		/* UNG 0048, GS06 */
	char	*agency;		/* UNG 0051, GS07 */
	char	*version;		/* UNG 0052:0054, GS08 */
	size_t	 hdr_start, hdr_end;	/* UNG/GS segment in the buffer */
	size_t	 messages;		/* messages counted in the group */
};

struct edi_message {			/* UNH..UNT, ST..SE */
	size_t	 start, end;		/* first byte of UNH/ST, one past the
					   terminator of UNT/SE */
	size_t	 line;			/* line of UNH/ST, 1-based */
	size_t	 segments;		/* counted, with UNH/ST, UNT/SE */
	char	*type;			/* UNH S009 0065, ST01 */
	char	*ref;			/* UNH 0062, ST02 */
	char	*version;		/* UNH 0052:0054:0051[:0057], GS08 */
	int	 group;			/* index in groups, -1: none */
	char	*reason;		/* NULL: ok; else why it is rejected
					   alone (its trailer is wrong) */
};

struct edi_interchange {
	enum edi_syntax	 syntax;
	size_t		 start, end;	/* UNA/UNB or ISA .. end of UNZ/IEA */
	size_t		 hdr_start, hdr_end;	/* UNB or ISA segment */
	int		 una;		/* 1: UNA set the separators */
	unsigned char	 comp, elem, seg;	/* separators */
	int		 rep, release;	/* repetition, release: -1 none */
	unsigned char	 decimal;	/* decimal mark (UNA3; '.' for X12) */
	char		*syntax_id;	/* UNOC..; X12: ISA12 version */
	char		*syntax_version;	/* UNB 0002; X12: ISA12 */
	const char	*charset;	/* iconv name of the bytes */
	char		*sender_qual, *sender;	/* UNB 0007:0004, ISA05:06 */
	char		*recipient_qual, *recipient;	/* 0007:0010, 07:08 */
	char		*date, *time;	/* UNB 0017/0019, ISA09/ISA10 */
	char		*control;	/* UNB 0020, ISA13 (as sent) */
	int		 test;		/* UNB 0035 = 1, ISA15 = T */
	int		 ack;		/* UNB 0031 = 1, ISA14 = 1 */
	char		*warning;	/* first warning, NULL if none */
	struct edi_group	*groups;
	size_t		 ngroups;
	struct edi_message	*msgs;
	size_t		 nmsgs;
	struct edi_interchange	*next;	/* the next in the same file */
};

/* Sane defaults for a partner's upload. */
void	edi_limits_default(struct edi_limits *);

/* EDI_EDIFACT ("UNA"/"UNB"), EDI_X12 ("ISA") or EDI_NONE, after an
   optional UTF-8 BOM and white space. */
enum edi_syntax	edi_detect(const char *, size_t);

/*
 * Read every interchange in buf. 0 and *out set: each interchange's
 * envelope is sound (a message may still carry a reason of its own);
 * -1 and err set: the file is rejected whole, the reason naming the
 * segment, its line and the values that disagree.
 */
int	edi_read(const char *buf, size_t len, const struct edi_limits *,
	    struct edi_interchange **out, struct spool_error *err);
void	edi_free(struct edi_interchange *);

/*
 * Where each interchange of buf lies, for acceptance to make each one a
 * file and a batch of its own. Parts in order, [start, end) in buf; an
 * interchange whose envelope edi_read() refuses, data after a trailer
 * that starts no interchange, or one interchange more than
 * max_interchanges makes the last part, broken, which runs to the end
 * of buf (where a broken interchange ends cannot be trusted). *nout is
 * 0 when buf is not EDI. -1 only when out of memory.
 */
struct edi_part {
	size_t	start, end;
	int	broken;
};
int	edi_split(const char *buf, size_t len, const struct edi_limits *,
	    struct edi_part **out, size_t *nout);
/*
 * The same, keeping what it read: *ics the sound interchanges, in file
 * order, each as edi_read() gives it (the caller frees them with
 * edi_free()). One part that is not broken: *ics is what edi_read() of
 * buf with the same limits says, without reading buf again.
 */
int	edi_split_read(const char *buf, size_t len, const struct edi_limits *,
	    struct edi_part **out, size_t *nout, struct edi_interchange **ics);

/* The tree of message i of ic (the EDI TREE of spoold.conf(5)); buf is
   the buffer edi_read() read. NULL and err set on failure. */
xmlDocPtr	edi_message_tree(const struct edi_interchange *ic, size_t i,
		    const char *buf, size_t len, struct spool_error *err);
/*
 * The same tree for a caller that makes many: its names in dict (the
 * document takes a reference; NULL: a dictionary of its own, which costs
 * more to make than the tree of a short message; it holds names only,
 * never values), its nodes and texts in a few large blocks instead of a
 * malloc() each. Freed only by edi_tree_free(), never xmlFreeDoc(); the
 * tree is for reading (XPath, validation): nothing may unlink, free or
 * replace its nodes, attributes or texts.
 */
xmlDocPtr	edi_message_tree_pooled(const struct edi_interchange *ic,
		    size_t i, const char *buf, size_t len, xmlDictPtr dict,
		    struct spool_error *err);
/*
 * The pooled tree of the entry bundle_edi.c makes of message i (an
 * interchange of that message alone, so its pos is 1): the tree
 * edi_message_tree_pooled() gives of the entry after edi_read() of its
 * bytes, without reading them again. For a message without a reason
 * in an interchange without a warning (else the entry's own may
 * differ: its lines count from its start).
 */
xmlDocPtr	edi_entry_tree_pooled(const struct edi_interchange *ic,
		    size_t i, const char *buf, size_t len, xmlDictPtr dict,
		    struct spool_error *err);
/* edi_entry_tree_pooled() with the segments whose tag is not in tags
 * (NULL-terminated) left bare: the segment element and its attributes,
 * no element under it; with omit, left out (the others keep their pos).
 * Their values are still checked as the whole tree would. For keys that
 * read no other segment's values (dialect_edi_tags()). */
xmlDocPtr	edi_entry_tree_tags(const struct edi_interchange *ic,
		    size_t i, const char *buf, size_t len, xmlDictPtr dict,
		    char *const *tags, int omit, struct spool_error *err);
void		edi_tree_free(xmlDocPtr);

#endif
