/*
 * Reading the store's JSON files (manifest.json, model.json, tfjs/
 * model.json) with one set of errors: missing, unreadable, or not JSON at
 * line N.
 */
#ifndef JSON_FILE_H
#define JSON_FILE_H

#include <jansson.h>

/*
 * Parses the file at path (duplicate keys refused) into *root; caller
 * owns, json_decref(). what names the file in the error ("bad <what>
 * '<path>': line N: ..."); missing is added to "'<path>' is missing" (""
 * for nothing). Returns 0, PSC_ENOTFOUND, PSC_EIO or PSC_EPROTO with one
 * line in err.
 */
int json_file_load(const char *path, const char *what, const char *missing,
                   json_t **root, char *err);

#endif
