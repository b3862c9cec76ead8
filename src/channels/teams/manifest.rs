//! Teams app package builder: manifest.json with the app id filled in, plus icons, zipped.

use anyhow::Context;
use std::io::Write;
use std::path::Path;

/// The manifest template; its placeholder GUID keeps it schema-valid before packaging.
pub const MANIFEST_TEMPLATE: &str = include_str!("../../../manifest/teams/manifest.json");
/// 192x192 full-colour icon.
pub const COLOR_ICON: &[u8] = include_bytes!("../../../manifest/teams/color.png");
/// 32x32 white-on-transparent outline icon.
pub const OUTLINE_ICON: &[u8] = include_bytes!("../../../manifest/teams/outline.png");
/// The GUID in the template that stands for the bot's app id.
pub const PLACEHOLDER_ID: &str = "00000000-0000-0000-0000-000000000000";

/// The manifest JSON with `id` and `bots[0].botId` set to `app_id`.
pub fn manifest_json(app_id: &str) -> anyhow::Result<String> {
    let app_id = app_id.trim();
    let valid = app_id.len() == 36
        && app_id.chars().enumerate().all(|(i, c)| {
            matches!(i, 8 | 13 | 18 | 23) == (c == '-') && (c == '-' || c.is_ascii_hexdigit())
        });
    anyhow::ensure!(valid, "the Teams app id must be a GUID");
    Ok(MANIFEST_TEMPLATE.replace(PLACEHOLDER_ID, app_id))
}

/// The zipped app package (manifest.json, color.png, outline.png) as bytes.
pub fn package_bytes(app_id: &str) -> anyhow::Result<Vec<u8>> {
    let manifest = manifest_json(app_id)?;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in [
        ("manifest.json", manifest.as_bytes()),
        ("color.png", COLOR_ICON),
        ("outline.png", OUTLINE_ICON),
    ] {
        zip.start_file(name, options)
            .with_context(|| format!("adding {name}"))?;
        zip.write_all(data)?;
    }
    Ok(zip.finish().context("finishing the zip")?.into_inner())
}

/// Writes the app package for `app_id` to `out` (the `manifest` CLI command).
pub fn package(app_id: &str, out: &Path) -> anyhow::Result<()> {
    let bytes = package_bytes(app_id)?;
    std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_app_id_and_rejects_non_guid() {
        let id = "12345678-9abc-def0-1234-56789abcdef0";
        let json: serde_json::Value =
            serde_json::from_str(&manifest_json(id).expect("manifest")).expect("json");
        assert_eq!(json["id"], id);
        assert_eq!(json["bots"][0]["botId"], id);
        // Resource-specific consent names the bot's own app registration.
        assert_eq!(json["webApplicationInfo"]["id"], id);
        assert_eq!(
            json["authorization"]["permissions"]["resourceSpecific"][0]["name"],
            "ChannelMessage.Read.Group"
        );
        assert!(manifest_json("not-a-guid").is_err());
        assert!(manifest_json("12345678-9abc-def0-1234-56789abcdef\"").is_err());
    }

    fn png_size(png: &[u8]) -> (u32, u32, u8) {
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let be = |i: usize| u32::from_be_bytes([png[i], png[i + 1], png[i + 2], png[i + 3]]);
        // IHDR: width at 16, height at 20, colour type at 25.
        (be(16), be(20), png[25])
    }

    #[test]
    fn icons_have_required_sizes() {
        assert_eq!(png_size(COLOR_ICON), (192, 192, 6));
        // Colour type 6 is RGBA: the outline needs transparency.
        assert_eq!(png_size(OUTLINE_ICON), (32, 32, 6));
    }

    #[test]
    fn outline_icon_is_white_on_transparent() {
        let mut reader = png::Decoder::new(std::io::Cursor::new(OUTLINE_ICON))
            .read_info()
            .expect("png header");
        let mut pixels = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut pixels).expect("png frame");
        assert_eq!(
            (info.color_type, info.bit_depth),
            (png::ColorType::Rgba, png::BitDepth::Eight)
        );
        let pixels = &pixels[..info.buffer_size()];
        let mut drawn = 0;
        for rgba in pixels.chunks_exact(4) {
            // Teams wants the outline white where drawn and transparent elsewhere.
            assert!(rgba[3] == 0 || rgba[..3] == [255, 255, 255], "{rgba:?}");
            drawn += usize::from(rgba[3] != 0);
        }
        assert!(
            drawn > 0 && drawn < pixels.len() / 4,
            "{drawn} pixels drawn"
        );
    }

    #[test]
    fn package_holds_three_files() {
        let bytes = package_bytes("12345678-9abc-def0-1234-56789abcdef0").expect("package");
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("zip");
        let mut names: Vec<_> = archive
            .file_names()
            .map(|name| name.expect("name").to_string())
            .collect();
        names.sort();
        assert_eq!(names, ["color.png", "manifest.json", "outline.png"]);
        let manifest = archive.by_name("manifest.json").expect("manifest");
        let json: serde_json::Value = serde_json::from_reader(manifest).expect("json");
        assert_eq!(json["id"], "12345678-9abc-def0-1234-56789abcdef0");
    }
}
