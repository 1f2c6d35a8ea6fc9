/*
 * edi_int.h - what edi.c, edi_edifact.c and edi_x12.c share: the
 * segment lexer and the helpers that build struct edi_interchange.
 * Not for use outside them, edi_tree.c and the readers of segments the
 * tokenizer has already checked (ack_read.c, stamp.c).
 */
#ifndef SPOOL_EDI_INT_H
#define SPOOL_EDI_INT_H

#include <iconv.h>
#include <stddef.h>

#include "edi.h"
#include "error.h"

struct edi_val {			/* one non-empty value of a segment */
	unsigned	 elem, rep, comp;	/* elem 0 is the tag */
	size_t		 off, len;	/* in edi_seg.text, NUL-terminated */
};

struct edi_seg {
	size_t		 start, end;	/* bytes in the buffer */
	size_t		 line;
	char		 tag[4];
	char		*text;		/* values, release characters gone */
	size_t		 textcap;
	struct edi_val	*vals;
	size_t		 nvals, valcap;
	unsigned	 nelems;	/* highest element position seen */
};

struct edi_lex {
	const char		*buf;
	size_t			 len, pos, line;
	int			 comp, elem, seg, rep, release;	/* -1 none */
	const struct edi_limits	*lim;
	size_t			 nsegs, nmsgs;
	int			 unterminated;	/* last segment had no
						   terminator (EOF) */
	iconv_t			 cd;	/* to UTF-8 from cdset, opened once */
	const char		*cdset;
};

/* 1: a segment in *seg; 0: end of data; -1: error. */
int		 edi_lex_next(struct edi_lex *, struct edi_seg *,
		    struct spool_error *);
void		 edi_lex_skipws(struct edi_lex *);
/*
 * For a lexer without limits (all SIZE_MAX, the tree's): whether the next
 * segment is a plain one, which edi_lex_next() would read without error
 * and whose values need no character set conversion: a valid tag, no
 * release character, CR, LF (but as its terminator) or byte above 0x7f,
 * a terminator before the end. 1: plain, its tag in tag and *end just
 * past it (nothing read yet: edi_lex_skip() or edi_lex_next()); 0: the
 * end of the data; 2: not plain, read it with edi_lex_next().
 */
int		 edi_lex_plain(struct edi_lex *, char tag[4], size_t *end);
/* Past the plain segment edi_lex_plain() found, as edi_lex_next() would
 * be. */
void		 edi_lex_skip(struct edi_lex *, size_t end);
void		 edi_seg_free(struct edi_seg *);
/* Value of element e, component c, first repetition; "" if absent. */
const char	*edi_seg_val(const struct edi_seg *, unsigned, unsigned);
/* Copy of that value (NULL only when out of memory: err set). */
char		*edi_seg_dup(const struct edi_seg *, unsigned, unsigned,
		    struct spool_error *);
/* A number of digits only, compared as numbers (ISA13, GS06, counts). */
int		 edi_number(const char *, long long *);
/* Check the bytes of a segment against the interchange's set. */
int		 edi_check_bytes(struct edi_interchange *, struct edi_lex *,
		    const struct edi_seg *, struct spool_error *);
/* Add a message / group; NULL and err set when out of memory or over
   the limit. */
struct edi_message *edi_add_message(struct edi_interchange *,
		    struct edi_lex *, struct spool_error *);
struct edi_group *edi_add_group(struct edi_interchange *,
		    struct spool_error *);
int		 edi_msg_reject(struct edi_message *, struct spool_error *,
		    const char *, ...) __attribute__((format(printf, 3, 4)));
/* The iconv name of an EDIFACT syntax identifier (UNOA..UNOL, UNOW,
 * UNOY), NULL for one spoold does not read (edi_edifact.c). */
const char	*edi_charset_of(const char *syntax_id);
/* The offsets of ISA's element separators, ISA01..ISA16 (edi_x12.c). */
extern const unsigned short edi_isa_sep[16];
int		 edi_warn(struct edi_interchange *, struct spool_error *,
		    const char *, ...) __attribute__((format(printf, 3, 4)));

int		 edi_edifact_read(struct edi_lex *, struct edi_interchange *,
		    struct spool_error *);
int		 edi_x12_read(struct edi_lex *, struct edi_interchange *,
		    struct spool_error *);

#endif
