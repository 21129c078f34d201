#version 330 core
// The DICOM grayscale pipeline (PS3.3 C.11): stored value -> Modality LUT -> VOI LUT ->
// Presentation LUT. It must agree with mammo_workstation/pipeline/reference.py, which the
// tests compare it against.
in vec2 v_texcoord;
out vec4 frag_color;

uniform sampler2D u_image;        // R16 UNORM: stored value + u_offset, divided by 65535
uniform float u_offset;           // 32768 for signed data, else 0
uniform int u_color;              // 1: RGB image, shown as is (inverted on request)

uniform int u_has_padding;        // Pixel Padding Value / Range Limit, as stored values
uniform vec2 u_padding;

uniform float u_slope;            // Rescale Slope and Intercept, when there is no Modality LUT
uniform float u_intercept;
uniform int u_has_modality_lut;
uniform sampler2D u_modality_lut; // R32F, 256 entries a row
uniform float u_modality_lut_first;
uniform float u_modality_lut_length;
uniform float u_modality_lut_max;

uniform int u_voi_mode;           // 0 LINEAR, 1 LINEAR_EXACT, 2 SIGMOID, 3 VOI LUT, 4 full range
uniform float u_center;           // window centre; for mode 4 the range minimum
uniform float u_width;            // window width; for mode 4 the range size
uniform int u_has_voi_lut;
uniform sampler2D u_voi_lut;
uniform float u_voi_lut_first;
uniform float u_voi_lut_length;
uniform float u_voi_lut_max;
uniform int u_voi_lut_adjusted;   // 1: a user's window/level on the VOI LUT
uniform vec2 u_voi_lut_window;    // the LUT's equivalent window (centre, width)
uniform vec2 u_user_window;       // the user's window (centre, width)

uniform int u_invert;             // MONOCHROME1, Presentation LUT Shape INVERSE, user toggle

float lut_lookup(sampler2D lut, float value, float first, float length) {
    // PS3.3 C.11.1.1: inputs before the first mapped value take the first entry, past the end
    // the last entry.
    float index = clamp(floor(value + 0.5) - first, 0.0, length - 1.0);
    int i = int(index);
    return texelFetch(lut, ivec2(i % 256, i / 256), 0).r;
}

float voi(float x) {
    float c = u_center;
    float w = u_width;
    if (u_voi_mode == 2) {                       // SIGMOID, PS3.3 C.11.2.1.3.1
        return 1.0 / (1.0 + exp(-4.0 * (x - c) / w));
    }
    if (u_voi_mode == 1) {                       // LINEAR_EXACT, PS3.3 C.11.2.1.3.2
        if (x <= c - w / 2.0) return 0.0;
        if (x > c + w / 2.0) return 1.0;
        return (x - c) / w + 0.5;
    }
    if (u_voi_mode == 3) {                       // VOI LUT Sequence, PS3.3 C.11.2.1.1
        if (u_voi_lut_adjusted == 1) {           // move and stretch the LUT's input axis
            x = u_voi_lut_window.x + (x - u_user_window.x) * (u_voi_lut_window.y / u_user_window.y);
        }
        return lut_lookup(u_voi_lut, x, u_voi_lut_first, u_voi_lut_length) / u_voi_lut_max;
    }
    if (u_voi_mode == 4) {                       // no VOI: the whole modality range
        return clamp((x - c) / w, 0.0, 1.0);
    }
    if (w <= 1.0) {                              // LINEAR with width 1 is a threshold
        return x > c - 0.5 ? 1.0 : 0.0;
    }
    if (x <= c - 0.5 - (w - 1.0) / 2.0) return 0.0;   // LINEAR, PS3.3 C.11.2.1.2.1
    if (x > c - 0.5 + (w - 1.0) / 2.0) return 1.0;
    return (x - (c - 0.5)) / (w - 1.0) + 0.5;
}

void main() {
    vec4 texel = texture(u_image, v_texcoord);
    if (u_color == 1) {
        vec3 rgb = u_invert == 1 ? vec3(1.0) - texel.rgb : texel.rgb;
        frag_color = vec4(rgb, 1.0);
        return;
    }
    float stored = texel.r * 65535.0 - u_offset;
    if (u_has_padding == 1 && stored >= u_padding.x - 0.5 && stored <= u_padding.y + 0.5) {
        frag_color = vec4(0.0, 0.0, 0.0, 1.0);
        return;
    }
    float modality = u_has_modality_lut == 1
        ? lut_lookup(u_modality_lut, stored, u_modality_lut_first, u_modality_lut_length)
        : stored * u_slope + u_intercept;
    float y = clamp(voi(modality), 0.0, 1.0);
    if (u_invert == 1) y = 1.0 - y;
    frag_color = vec4(y, y, y, 1.0);
}
