/* Hand-written C helpers for the generated extension: generated functions
 * cannot throw by themselves, so the Go side calls these and returns. */
#ifndef REALTIME_ERRORS_H
#define REALTIME_ERRORS_H

#include <php.h>

void realtime_throw_value_error(const char *message);
void realtime_throw_type_error(const char *message);
void realtime_throw_runtime_exception(const char *message);

/* Kinds of user id argument, see realtime_user_id(). */
#define REALTIME_USER_ID_OTHER 0
#define REALTIME_USER_ID_STRING 1
#define REALTIME_USER_ID_LONG 2

/* realtime_user_id classifies an int|string argument; for a string it sets
 * *str and *len, for an int *num. */
int realtime_user_id(zval *value, const char **str, size_t *len, zend_long *num);

/* Outcomes of realtime_keep_registered(). */
#define REALTIME_HOOK_INSTALLED 1 /* PHP restarts will register the module */
#define REALTIME_HOOK_PENDING 0   /* PHP has not installed FrankenPHP's hook yet (first start) */
#define REALTIME_HOOK_UNKNOWN -1  /* another hook is in place: FrankenPHP changed */

/* realtime_keep_registered makes PHP restarts (config reloads) register the
 * module again; see realtime_restart.c. Idempotent. */
int realtime_keep_registered(void);

/* realtime_string_list reads a string or an array of strings: it fills up
 * to max entries of out/lens and returns how many, or -1 when value is not
 * a string or an array of strings (*bad_type then names the offending
 * type), or -2 when the array has more than max entries. */
int realtime_string_list(zval *value, const char **out, size_t *lens, int max, const char **bad_type);

/* realtime_optional_string reads a ?string argument: 1 and *str/*len for a
 * string, 0 for null, -1 for another type. */
int realtime_optional_string(zval *value, const char **str, size_t *len);

/* realtime_server_var returns $_SERVER[name] when it is a string, else NULL. */
const char *realtime_server_var(const char *name, size_t *len);

/* realtime_type_name names the type of a rejected argument for TypeError. */
const char *realtime_type_name(zval *value);

#endif
