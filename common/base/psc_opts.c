#include "psc_opts.h"

#include "psc_err.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define HELP_INDENT 27
#define LINE_WIDTH  79

void psc_opts_begin(struct psc_opts *p, const struct psc_opt *table, size_t n,
                    int argc, char **argv)
{
    if (n > PSC_OPTS_MAX)
        abort(); /* a program's table, fixed at build time */
    memset(p, 0, sizeof *p);
    p->table = table;
    p->n = n;
    p->argc = argc;
    p->argv = argv;
    /* ':' first: a missing value is told apart from an unknown option. */
    size_t k = 0;
    p->shorts[k++] = ':';
    for (size_t i = 0; i < n; i++) {
        int has_arg = table[i].arg ? required_argument : no_argument;
        p->longopts[i] =
            (struct option){table[i].name, has_arg, NULL, table[i].id};
        if (table[i].id < 128 && isalnum(table[i].id)) {
            p->shorts[k++] = (char) table[i].id;
            if (table[i].arg)
                p->shorts[k++] = ':';
        }
    }
    opterr = 0;
    optind = 1;
}

int psc_opts_next(struct psc_opts *p, char *err)
{
    int c = getopt_long(p->argc, p->argv, p->shorts, p->longopts, NULL);
    p->arg = optarg;
    if (c == -1)
        return 0;
    if (c != '?' && c != ':')
        return c;
    /* getopt_long has moved optind past the offending word. */
    const char *word =
        optind > 0 && optind <= p->argc ? p->argv[optind - 1] : "";
    if (c == ':')
        return psc_seterr(err, PSC_EINVAL, "option '%s' needs a value", word);
    return psc_seterr(err, PSC_EINVAL, "unknown option '%s'", word);
}

const char *psc_opts_operand(struct psc_opts *p)
{
    return optind < p->argc ? p->argv[optind++] : NULL;
}

static void s_wrap(FILE *f, const char *text, int indent)
{
    int col = indent;
    while (*text != '\0') {
        int word = (int) strcspn(text, " ");
        if (col > indent && col + 1 + word > LINE_WIDTH) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', f);
            col++;
        }
        fwrite(text, 1, (size_t) word, f);
        col += word;
        text += word;
        text += strspn(text, " ");
    }
    fputc('\n', f);
}

void psc_opts_usage(FILE *f, const struct psc_opt *table, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (table[i].help == NULL)
            continue;
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", table[i].name,
                 table[i].arg ? " " : "", table[i].arg ? table[i].arg : "");
        fprintf(f, "  %-24s ", left);
        s_wrap(f, table[i].help, HELP_INDENT);
    }
}
