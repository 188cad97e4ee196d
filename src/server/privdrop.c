/*
 * privdrop — see privdrop.h.
 */
#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int privdrop_lookup(const char *name, struct privdrop_user *u, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    struct passwd *pw = getpwnam(name);
    if (pw == NULL) {
        unsigned long id = strtoul(name, &end, 10);
        if (*name != '\0' && *end == '\0')
            pw = getpwuid((uid_t)id);
    }
    if (pw == NULL) {
        snprintf(err, errlen, "--user %s: no such user%s%s", name, errno ? ": " : "",
                 errno ? strerror(errno) : "");
        return -1;
    }
    if (snprintf(u->name, sizeof(u->name), "%s", pw->pw_name) >= (int)sizeof(u->name)) {
        snprintf(err, errlen, "--user %s: the user name is too long", name);
        return -1;
    }
    u->uid = pw->pw_uid;
    u->gid = pw->pw_gid;
    if (geteuid() != 0 && geteuid() != u->uid) {
        snprintf(err, errlen, "--user %s: only root can become another user (running as uid %u)",
                 name, (unsigned)geteuid());
        return -1;
    }
    return 0;
}

int privdrop_apply(const struct privdrop_user *u, char *err, size_t errlen)
{
    if (geteuid() == u->uid && getuid() == u->uid)
        return 0;
    if (initgroups(u->name, u->gid) != 0 || setgid(u->gid) != 0 || setuid(u->uid) != 0) {
        snprintf(err, errlen, "--user %s: cannot become it: %s", u->name, strerror(errno));
        return -1;
    }
    if (u->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        snprintf(err, errlen, "--user %s: root could be regained after the switch", u->name);
        return -1;
    }
    return 0;
}

int privdrop_check_readable(const char *setting, const char *file, char *err, size_t errlen)
{
    if (access(file, R_OK) == 0)
        return 0;
    snprintf(err, errlen, "--%s %s: not readable by uid %u: %s", setting, file, (unsigned)getuid(),
             strerror(errno));
    return -1;
}
