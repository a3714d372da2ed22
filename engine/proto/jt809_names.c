/* jt809_names.c: static names of JT/T 809 message IDs, sub-types, WARN_TYPE codes,
 * result codes and plate colours, for JSON and log output. All tables are const. */
#include "engine/proto/jt809.h"

#include <stddef.h>

struct jt809_name {
    uint16_t id;
    const char *name;
};

static const char *jt809_lookup(const struct jt809_name *t, size_t n, uint16_t id)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].id == id)
            return t[i].name;
    return "unknown";
}

#define JT809_LOOKUP(tab, id) jt809_lookup(tab, sizeof(tab) / sizeof(tab[0]), id)

static const struct jt809_name jt809_msg_names[] = {
    {0x1001, "UP_CONNECT_REQ"},          {0x1002, "UP_CONNECT_RSP"},
    {0x1003, "UP_DISCONNECT_REQ"},       {0x1004, "UP_DISCONNECT_RSP"},
    {0x1005, "UP_LINKTEST_REQ"},         {0x1006, "UP_LINKTEST_RSP"},
    {0x1007, "UP_DISCONNECT_INFORM"},    {0x1008, "UP_CLOSELINK_INFORM"},
    {0x9001, "DOWN_CONNECT_REQ"},        {0x9002, "DOWN_CONNECT_RSP"},
    {0x9003, "DOWN_DISCONNECT_REQ"},     {0x9004, "DOWN_DISCONNECT_RSP"},
    {0x9005, "DOWN_LINKTEST_REQ"},       {0x9006, "DOWN_LINKTEST_RSP"},
    {0x9007, "DOWN_DISCONNECT_INFORM"},  {0x9008, "DOWN_CLOSELINK_INFORM"},
    {0x9101, "DOWN_TOTAL_RECV_BACK_MSG"},
    {0x1200, "UP_EXG_MSG"},              {0x9200, "DOWN_EXG_MSG"},
    {0x1300, "UP_PLATFORM_MSG"},         {0x9300, "DOWN_PLATFORM_MSG"},
    {0x1400, "UP_WARN_MSG"},             {0x9400, "DOWN_WARN_MSG"},
    {0x1500, "UP_CTRL_MSG"},             {0x9500, "DOWN_CTRL_MSG"},
    {0x1600, "UP_BASE_MSG"},             {0x9600, "DOWN_BASE_MSG"},
};

static const struct jt809_name jt809_sub_names[] = {
    {0x1201, "UP_EXG_MSG_REGISTER"},
    {0x1202, "UP_EXG_MSG_REAL_LOCATION"},
    {0x1203, "UP_EXG_MSG_HISTORY_LOCATION"},
    {0x1205, "UP_EXG_MSG_RETURN_STARTUP_ACK"},
    {0x1206, "UP_EXG_MSG_RETURN_END_ACK"},
    {0x1207, "UP_EXG_MSG_APPLY_FOR_MONITOR_STARTUP"},
    {0x1208, "UP_EXG_MSG_APPLY_FOR_MONITOR_END"},
    {0x1209, "UP_EXG_MSG_APPLY_HISGNSSDATA_REQ"},
    {0x120A, "UP_EXG_MSG_REPORT_DRIVER_INFO_ACK"},
    {0x120B, "UP_EXG_MSG_TAKE_EWAYBILL_ACK"},
    {0x9201, "DOWN_EXG_MSG_REGISTER_ACK"},
    {0x9202, "DOWN_EXG_MSG_CAR_LOCATION"},
    {0x9203, "DOWN_EXG_MSG_HISTORY_ARCOSSAREA"},
    {0x9204, "DOWN_EXG_MSG_CAR_INFO"},
    {0x9205, "DOWN_EXG_MSG_RETURN_STARTUP"},
    {0x9206, "DOWN_EXG_MSG_RETURN_END"},
    {0x9207, "DOWN_EXG_MSG_APPLY_FOR_MONITOR_STARTUP_ACK"},
    {0x9208, "DOWN_EXG_MSG_APPLY_FOR_MONITOR_END_ACK"},
    {0x9209, "DOWN_EXG_MSG_APPLY_HISGNSSDATA_ACK"},
    {0x920A, "DOWN_EXG_MSG_REPORT_DRIVER_INFO"},
    {0x920B, "DOWN_EXG_MSG_TAKE_EWAYBILL_REQ"},
    {0x1301, "UP_PLATFORM_MSG_POST_QUERY_ACK"},
    {0x1302, "UP_PLATFORM_MSG_INFO_ACK"},
    {0x9301, "DOWN_PLATFORM_MSG_POST_QUERY_REQ"},
    {0x9302, "DOWN_PLATFORM_MSG_INFO_REQ"},
    {0x1401, "UP_WARN_MSG_URGE_TODO_ACK"},
    {0x1402, "UP_WARN_MSG_ADPT_INFO"},
    {0x1403, "UP_WARN_MSG_ADPT_TODO_INFO"},
    {0x1411, "UP_WARN_MSG_URGE_TODO_ACK_INFO"},
    {0x1412, "UP_WARN_MSG_ADPT_TODO_INFO_2019"},
    {0x1413, "UP_WARN_MSG_URGE_TODO_REQ"},
    {0x9401, "DOWN_WARN_MSG_URGE_TODO_REQ"},
    {0x9402, "DOWN_WARN_MSG_INFORM_TIPS"},
    {0x9403, "DOWN_WARN_MSG_EXG_INFORM"},
    {0x1501, "UP_CTRL_MSG_MONITOR_VEHICLE_ACK"},
    {0x1502, "UP_CTRL_MSG_TAKE_PHOTO_ACK"},
    {0x1503, "UP_CTRL_MSG_TEXT_INFO_ACK"},
    {0x1504, "UP_CTRL_MSG_TAKE_TRAVEL_DATA_ACK"},
    {0x1505, "UP_CTRL_MSG_EMERGENCY_MONITORING_ACK"},
    {0x9501, "DOWN_CTRL_MSG_MONITOR_VEHICLE_REQ"},
    {0x9502, "DOWN_CTRL_MSG_TAKE_PHOTO_REQ"},
    {0x9503, "DOWN_CTRL_MSG_TEXT_INFO"},
    {0x9504, "DOWN_CTRL_MSG_TAKE_TRAVEL_DATA_REQ"},
    {0x9505, "DOWN_CTRL_MSG_EMERGENCY_MONITORING_REQ"},
    {0x1601, "UP_BASE_MSG_VEHICLE_ADDED_ACK"},
    {0x9601, "DOWN_BASE_MSG_VEHICLE_ADDED"},
};

static const struct jt809_name jt809_warn_names[] = {
    {0x0001, "overspeed"},
    {0x0002, "fatigue_driving"},
    {0x0003, "emergency"},
    {0x0004, "enter_area"},
    {0x0005, "leave_area"},
    {0x0006, "road_congestion"},
    {0x0007, "dangerous_road"},
    {0x0008, "cross_boundary"},
    {0x0009, "theft"},
    {0x000A, "robbery"},
    {0x000B, "route_deviation"},
    {0x000C, "vehicle_moved"},
    {0x000D, "driving_overtime"},
    {0x000E, "other"},
    {0x0010, "violation_driving"},
    {0x0011, "forward_collision"},
    {0x0012, "lane_departure"},
    {0x0013, "tyre_pressure_abnormal"},
    {0x0014, "dynamic_info_abnormal"},
    {0x00FF, "other_location"},
    {0xA001, "parking_overtime"},
    {0xA002, "report_interval_abnormal"},
    {0xA003, "report_distance_abnormal"},
    {0xA004, "platform_disconnect_abnormal"},
    {0xA005, "platform_transmission_abnormal"},
    {0xA006, "road_congestion"},
    {0xA007, "dangerous_road"},
    {0xA008, "rain_snow_weather"},
    {0xA009, "driver_identification_abnormal"},
    {0xA00A, "terminal_abnormal"},
    {0xA00B, "platform_access_abnormal"},
    {0xA00C, "core_data_abnormal"},
    {0xA0FF, "other_non_location"},
};

const char *jt809_msg_name(uint16_t msg_id)
{
    return JT809_LOOKUP(jt809_msg_names, msg_id);
}

const char *jt809_data_type_name(uint16_t data_type)
{
    return JT809_LOOKUP(jt809_sub_names, data_type);
}

const char *jt809_warn_type_name(uint16_t warn_type)
{
    return JT809_LOOKUP(jt809_warn_names, warn_type);
}

/* Result-code tables, indexed by code. */
static const char *const jt809_res_1002[] = {
    "success", "ip_wrong", "access_code_wrong", "user_not_registered", "password_wrong",
    "resources_busy", "other",
};
static const char *const jt809_res_9002[] = {"success", "verify_code_wrong", "resources_busy",
                                             "other"};
static const char *const jt809_res_1007[] = {"main_link_broken", "other"};
static const char *const jt809_res_1008[] = {"gateway_restart", "other"};
static const char *const jt809_res_9007[] = {"cannot_connect_lower", "upper_client_disconnected",
                                             "other"};
static const char *const jt809_res_9201[] = {"registered", "approved_registered", "info_wrong",
                                             "rejected"};
static const char *const jt809_res_9205[] = {"entered_area", "manual", "emergency_monitoring",
                                             "other"};
static const char *const jt809_res_9206_11[] = {"left_area", "manual_stop", "emergency_finished",
                                                "other"};
static const char *const jt809_res_9206_19[] = {"left_area", "manual_stop", "emergency_finished",
                                                "vehicle_offline", "other"};
static const char *const jt809_res_9207[] = {"ok", "no_vehicle_data", "time_range_wrong", "other"};
static const char *const jt809_res_9208[] = {"ok", "no_such_application", "other"};
static const char *const jt809_res_9209[] = {"ok_resending", "ok_later", "fail_no_data",
                                             "fail_bad_request", "other"};
static const char *const jt809_res_todo[] = {"in_progress", "done", "will_not_handle",
                                             "will_handle_later"};

#define JT809_PICK(tab, code)                                                               \
    ((code) < sizeof(tab) / sizeof(tab[0]) ? (tab)[code] : "unknown")

const char *jt809_result_name(uint16_t type, uint16_t edition, uint8_t code)
{
    if (code == 0xFF && (type == 0x1002 || type == 0x9002 || type == 0x9007))
        return "other";
    switch (type) {
    case 0x1002: return JT809_PICK(jt809_res_1002, code);
    case 0x9002: return JT809_PICK(jt809_res_9002, code);
    case 0x1007: return JT809_PICK(jt809_res_1007, code);
    case 0x1008: case 0x9008: return JT809_PICK(jt809_res_1008, code);
    case 0x9007: return JT809_PICK(jt809_res_9007, code);
    case 0x9201: return JT809_PICK(jt809_res_9201, code);
    case 0x9205: return JT809_PICK(jt809_res_9205, code);
    case 0x9206:
        if (edition == JT809_ED_2019)
            return JT809_PICK(jt809_res_9206_19, code);
        return JT809_PICK(jt809_res_9206_11, code);
    case 0x9207: return JT809_PICK(jt809_res_9207, code);
    case 0x9208: return JT809_PICK(jt809_res_9208, code);
    case 0x9209: return JT809_PICK(jt809_res_9209, code);
    case 0x1401: case 0x1403: case 0x1411: case 0x1412:
        return JT809_PICK(jt809_res_todo, code);
    default: return "unknown";
    }
}

const char *jt809_color_name(uint8_t color)
{
    switch (color) {
    case 1: return "blue";
    case 2: return "yellow";
    case 3: return "black";
    case 4: return "white";
    case 5: return "green";
    case 9: return "other";
    case 91: case 0x91: return "agri_yellow";
    case 92: case 0x92: return "agri_green";
    case 93: case 0x93: return "yellow_green";
    case 94: case 0x94: return "gradient_green";
    default: return "unknown";
    }
}
