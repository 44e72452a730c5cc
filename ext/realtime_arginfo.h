/* This is a generated file, edit the .stub.php file instead.
 * Stub hash: 6b78789c4bbd730a25a25fec91833260d7803afb */

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_broadcast, 0, 2, IS_VOID, 0)
	ZEND_ARG_TYPE_INFO(0, channel, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, message, IS_STRING, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_broadcastToUser, 0, 2, IS_VOID, 0)
	ZEND_ARG_TYPE_MASK(0, userId, MAY_BE_LONG|MAY_BE_STRING, NULL)
	ZEND_ARG_TYPE_INFO(0, message, IS_STRING, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_getChannelUsers, 0, 1, IS_ARRAY, 0)
	ZEND_ARG_TYPE_INFO(0, channel, IS_STRING, 0)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_disconnectUser, 0, 1, IS_VOID, 0)
	ZEND_ARG_TYPE_MASK(0, userId, MAY_BE_LONG|MAY_BE_STRING, NULL)
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_realtime_trigger, 0, 3, IS_VOID, 0)
	ZEND_ARG_TYPE_MASK(0, channels, MAY_BE_STRING|MAY_BE_ARRAY, NULL)
	ZEND_ARG_TYPE_INFO(0, event, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO(0, data, IS_STRING, 0)
	ZEND_ARG_TYPE_INFO_WITH_DEFAULT_VALUE(0, exceptSocketId, IS_STRING, 1, "null")
ZEND_END_ARG_INFO()

ZEND_BEGIN_ARG_WITH_RETURN_TYPE_INFO_EX(arginfo_realtime_is_internal_request, 0, 0, _IS_BOOL, 0)
ZEND_END_ARG_INFO()

#define arginfo_realtime_broadcast arginfo_broadcast

#define arginfo_realtime_broadcast_to_user arginfo_broadcastToUser

#define arginfo_realtime_get_channel_users arginfo_getChannelUsers

#define arginfo_realtime_disconnect_user arginfo_disconnectUser

ZEND_FUNCTION(broadcast);
ZEND_FUNCTION(broadcastToUser);
ZEND_FUNCTION(getChannelUsers);
ZEND_FUNCTION(disconnectUser);
ZEND_FUNCTION(realtime_trigger);
ZEND_FUNCTION(realtime_is_internal_request);
ZEND_FUNCTION(realtime_broadcast);
ZEND_FUNCTION(realtime_broadcast_to_user);
ZEND_FUNCTION(realtime_get_channel_users);
ZEND_FUNCTION(realtime_disconnect_user);

static const zend_function_entry ext_functions[] = {
	ZEND_FE(broadcast, arginfo_broadcast)
	ZEND_FE(broadcastToUser, arginfo_broadcastToUser)
	ZEND_FE(getChannelUsers, arginfo_getChannelUsers)
	ZEND_FE(disconnectUser, arginfo_disconnectUser)
	ZEND_FE(realtime_trigger, arginfo_realtime_trigger)
	ZEND_FE(realtime_is_internal_request, arginfo_realtime_is_internal_request)
	ZEND_FE(realtime_broadcast, arginfo_realtime_broadcast)
	ZEND_FE(realtime_broadcast_to_user, arginfo_realtime_broadcast_to_user)
	ZEND_FE(realtime_get_channel_users, arginfo_realtime_get_channel_users)
	ZEND_FE(realtime_disconnect_user, arginfo_realtime_disconnect_user)
	ZEND_FE_END
};
