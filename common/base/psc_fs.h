/*
 * File-system helpers the roles share.
 */
#ifndef PSC_FS_H
#define PSC_FS_H

/* Creates a folder and its parents (mkdir -p). Returns 0 or PSC_EIO. */
int psc_mkdirs(const char *path, char *err);

#endif
