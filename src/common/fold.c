/*
 * fold — see fold.h.
 */
#include "fold.h"

#include <string.h>

int fold_ver_of(const json_t *item, struct item_id id, struct fold_ver *v)
{
    const char *kind = json_string_value(json_object_get(item, "kind"));
    v->id = v->root = id;
    v->kind = FOLD_ALERT;
    if (kind == NULL || strcmp(kind, "alert") == 0)
        return 0;
    v->kind = strcmp(kind, "retraction") == 0 ? FOLD_RETRACTION : FOLD_UPDATE;
    return item_id_parse(json_string_value(json_object_get(item, "ref")), &v->root);
}

enum fold_verdict fold_meet(enum fold_kind newer, enum fold_kind older)
{
    if (newer == FOLD_RETRACTION)
        return older == FOLD_RETRACTION ? FOLD_BOTH : FOLD_DROP_OLDER;
    return older == FOLD_RETRACTION ? FOLD_DROP_NEWER : FOLD_DROP_OLDER;
}
