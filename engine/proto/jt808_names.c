/* jt808_names.c: stable snake_case names for JT/T 808 identifiers, for JSON and logs. */
#include "engine/proto/jt808.h"

const char *jt808_msg_name(uint16_t msg_id)
{
    switch (msg_id) {
    case 0x0001: return "terminal_general_response";
    case 0x0002: return "heartbeat";
    case 0x0003: return "logout";
    case 0x0005: return "terminal_resend_request";
    case 0x0100: return "register";
    case 0x0102: return "authentication";
    case 0x0200: return "location_report";
    case 0x0201: return "location_query_response";
    case 0x0704: return "batch_location_upload";
    case 0x8001: return "platform_general_response";
    case 0x8003: return "platform_resend_request";
    case 0x8100: return "register_response";
    case 0x8103: return "set_parameters";
    case 0x8201: return "location_query";
    case 0x8202: return "temporary_tracking";
    case 0x8300: return "text_message";
    default: return "unknown";
    }
}

static const char *const alarm_names[32] = {
    "sos", "overspeed", "fatigue", "danger_warning", "gnss_fault", "gnss_antenna_cut",
    "gnss_antenna_short", "power_low", "power_off", "lcd_fault", "tts_fault",
    "camera_fault", "ic_card_fault", "overspeed_warning", "fatigue_warning",
    "violation_driving", "tyre_pressure", "right_turn_blind_area", "daily_driving_exceeded",
    "parking_overtime", "area_in_out", "route_in_out", "section_time", "route_deviation",
    "vss_fault", "fuel_abnormal", "stolen", "illegal_ignition", "illegal_displacement",
    "collision_rollover", "rollover_warning", "illegal_door_open",
};

const char *jt808_alarm_bit_name(unsigned bit, uint16_t edition)
{
    if (bit >= 32)
        return "invalid";
    /* Bits whose meaning moved between editions (§5.6.1). */
    if (edition == JT808_ED_2011 && ((bit >= 12 && bit <= 17) || bit == 30 || bit == 31))
        return "reserved";
    if (edition == JT808_ED_2011 && bit == 3)
        return "early_warning";
    if (edition != JT808_ED_2019 && bit >= 15 && bit <= 17)
        return "reserved";
    if (edition == JT808_ED_2019 && bit == 3)
        return "dangerous_driving";
    if (edition == JT808_ED_2013 && bit == 29)
        return "collision_warning";
    if (edition == JT808_ED_2019 && bit == 31)
        return "reserved";
    return alarm_names[bit];
}

static const char *const status_names[32] = {
    "acc_on", "fix_valid", "south", "west", "out_of_service", "coordinates_encrypted",
    "forward_collision_warning", "lane_departure_warning", "load_bit8", "load_bit9",
    "oil_cut", "circuit_cut", "doors_locked", "door1_open", "door2_open", "door3_open",
    "door4_open", "door5_open", "gps", "beidou", "glonass", "galileo", "moving",
    "reserved23", "reserved24", "reserved25", "reserved26", "reserved27", "reserved28",
    "reserved29", "reserved30", "reserved31",
};

const char *jt808_status_bit_name(unsigned bit)
{
    return bit < 32 ? status_names[bit] : "invalid";
}
