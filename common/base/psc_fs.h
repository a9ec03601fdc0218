/*
 * File-system helpers the roles share: creating a folder with its parents
 * (mkdir -p) for model directories and download caches.
 */
#ifndef PSC_FS_H
#define PSC_FS_H

/*
 * Creates the folder path and any missing parents, like mkdir -p (mode
 * 0777 less the umask); a folder that exists already, or that another
 * process creates meanwhile, is success. path has no length limit; repeated
 * and trailing slashes are fine. Returns 0; PSC_EINVAL for an empty path;
 * PSC_EIO when a part of path exists and is not a folder (err names it) or
 * cannot be created (err gives the system's reason). err (PSC_ERR_LEN
 * bytes, may be NULL) gets one line on failure; errno is not part of the
 * result.
 */
int psc_mkdirs(const char *path, char *err);

#endif
