//! Sidecar injection: namespace enrolment, injected proxies and their images.

mod config;
mod image_auto;
mod namespace_injection;
mod proxy_image;

pub static RULES: &[&crate::Rule] = &[
    &namespace_injection::NAMESPACE_INJECTION,
    &proxy_image::PROXY_IMAGE,
    &image_auto::IMAGE_AUTO,
];
