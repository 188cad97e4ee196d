/*
 * privdrop — --user: once the listening sockets are open, alertd goes on
 * as an unprivileged user, so that a flaw in the TLS, HTTP or JSON code
 * it runs for strangers does not run as root.
 *
 * A root start binds a port below 1024 (or any port), then takes the
 * user's uid, gid and supplementary groups for good: the workers are
 * forked after the drop, and everything read later (the certificate, the
 * key, the ticket keys, at start and on every reload) is read as that
 * user. The systemd unit does the same with User= and
 * CAP_NET_BIND_SERVICE; this is for starts without it (a shell, a plain
 * container run as root).
 */
#ifndef ALERTD_PRIVDROP_H
#define ALERTD_PRIVDROP_H

#include <stddef.h>
#include <sys/types.h>

struct privdrop_user {
    char name[64];
    uid_t uid;
    gid_t gid;
};

/* Looks `name` up (a user name, or a numeric uid) and checks that this
 * process may become it; -1 with err set. */
int privdrop_lookup(const char *name, struct privdrop_user *u, char *err, size_t errlen);

/* Becomes the user for good (groups, gid, uid; verified irreversible);
 * -1 with err set. A no-op when already running as that user. */
int privdrop_apply(const struct privdrop_user *u, char *err, size_t errlen);

/* 0 when the user (after privdrop_apply: this process) can read `file`;
 * -1 with err naming the setting and the file. */
int privdrop_check_readable(const char *setting, const char *file, char *err, size_t errlen);

#endif
