#version 330 core
// Image quad in image pixel coordinates; u_image_to_clip places it (orientation, zoom, pan).
layout(location = 0) in vec2 a_position;
uniform mat4 u_image_to_clip;
uniform vec2 u_image_size;
out vec2 v_texcoord;

void main() {
    gl_Position = u_image_to_clip * vec4(a_position, 0.0, 1.0);
    v_texcoord = a_position / u_image_size;
}
