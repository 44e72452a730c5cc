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

/* realtime_keep_registered makes PHP restarts (config reloads) register the
 * module again; see realtime_restart.c. Idempotent. */
void realtime_keep_registered(void);

/* realtime_type_name names the type of a rejected argument for TypeError. */
const char *realtime_type_name(zval *value);

#endif
