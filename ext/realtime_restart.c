/* Keeps the realtime module registered across PHP restarts.
 *
 * FrankenPHP (v1.12) registers Go extensions by wrapping PHP's
 * php_register_internal_extensions_func hook, and forgets its module list
 * after the first startup; when a config reload restarts PHP, the
 * extension's functions are gone (upstream php/frankenphp#2572). We wrap
 * FrankenPHP's hook in turn: after it runs, register our module if it did
 * not. Installed only once FrankenPHP's own hook is in place, so the first
 * startup registers the module exactly once, through FrankenPHP. */

#include <php.h>
#include <Zend/zend_API.h>

#include "realtime.h"
#include "realtime_errors.h"

/* FrankenPHP's hook (frankenphp.c), non-static there. */
extern int register_internal_extensions(void);

static int (*realtime_previous_hook)(void) = NULL;

static int realtime_register_hook(void) {
	if (realtime_previous_hook != NULL && realtime_previous_hook() != SUCCESS) {
		return FAILURE;
	}
	if (zend_hash_str_exists(&module_registry, "realtime", sizeof("realtime") - 1)) {
		return SUCCESS;
	}
	return zend_register_internal_module(&realtime_module_entry) != NULL ? SUCCESS : FAILURE;
}

int realtime_keep_registered(void) {
	if (php_register_internal_extensions_func == realtime_register_hook) {
		return REALTIME_HOOK_INSTALLED;
	}
	if (php_register_internal_extensions_func == register_internal_extensions) {
		realtime_previous_hook = php_register_internal_extensions_func;
		php_register_internal_extensions_func = realtime_register_hook;
		return REALTIME_HOOK_INSTALLED;
	}
	if (php_register_internal_extensions_func == php_register_internal_extensions) {
		return REALTIME_HOOK_PENDING;
	}
	return REALTIME_HOOK_UNKNOWN;
}
