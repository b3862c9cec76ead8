//! Charts: PNG drawing with plotters and an embedded font (no system fonts),
//! and the data table that renderers show when they cannot draw a chart.

use crate::reply::{Cell, Chart, ChartKind, Column, Table};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use std::sync::OnceLock;

/// DejaVu Sans, embedded so charts render on hosts without fonts (see assets/fonts/LICENSE.DejaVu.txt).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The family name the embedded font is registered under.
const FAMILY: &str = "sans-serif";

/// Largest width or height accepted, in pixels.
pub const MAX_SIDE: u32 = 4096;

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// Width or height is zero or above [`MAX_SIDE`].
    #[error("chart size {0}x{1} is out of range")]
    Size(u32, u32),
    /// No categories or no series to draw.
    #[error("chart has no data")]
    Empty,
    /// The embedded font could not be loaded.
    #[error("chart font could not be loaded")]
    Font,
    /// plotters failed while drawing.
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    /// The PNG encoder failed.
    #[error("encoding the chart as PNG failed: {0}")]
    Encode(#[from] png::EncodingError),
}

/// The chart's data as a table for hosts that cannot draw it, narrow enough for a phone:
/// one row per category with its total, and with several series a "By ..." column naming
/// each non-zero series ("High 1 · Medium 6"), rather than one column per series.
pub fn data_table(chart: &Chart) -> Table {
    let category = chart
        .x_label
        .clone()
        .unwrap_or_else(|| "Category".to_string());
    let total = chart.y_label.clone().unwrap_or_else(|| "Total".to_string());
    let mut columns = vec![Column::left(category), Column::right(total)];
    let several = chart.series.len() > 1;
    if several {
        columns.push(Column::prose("Breakdown"));
    }
    let rows = chart
        .categories
        .iter()
        .enumerate()
        .map(|(index, category)| {
            let values: Vec<(&str, f64)> = chart
                .series
                .iter()
                .map(|it| {
                    (
                        it.name.as_str(),
                        it.values.get(index).copied().unwrap_or(0.0),
                    )
                })
                .collect();
            let sum: f64 = values.iter().map(|(_, value)| value).sum();
            let mut row = vec![Cell::text(category), Cell::text(number(sum))];
            if several {
                let parts: Vec<String> = values
                    .iter()
                    .filter(|(_, value)| *value != 0.0)
                    // A no-break space keeps each count with its series name.
                    .map(|(name, value)| format!("{name}\u{a0}{}", number(*value)))
                    .collect();
                row.push(Cell::text(if parts.is_empty() {
                    "-".to_string()
                } else {
                    parts.join(" · ")
                }));
            }
            row
        })
        .collect();
    Table {
        title: Some(chart.title.clone()),
        columns,
        rows,
    }
}

/// Formats a value without a trailing `.0` for whole numbers.
pub fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// Draws the chart as a PNG of `width` x `height` pixels.
pub fn png(chart: &Chart, width: u32, height: u32) -> Result<Vec<u8>, ChartError> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(ChartError::Size(width, height));
    }
    if chart.categories.is_empty() || chart.series.is_empty() {
        return Err(ChartError::Empty);
    }
    load_font()?;
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let backend = BitMapBackend::with_buffer(&mut pixels, (width, height));
        let root = backend.into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        match chart.kind {
            ChartKind::StackedBar => draw_stacked_bar(chart, &root)?,
            ChartKind::Line => draw_line(chart, &root)?,
            ChartKind::Donut => draw_donut(chart, &root)?,
        }
        root.present().map_err(draw_error)?;
    }
    encode(&pixels, width, height)
}

fn load_font() -> Result<(), ChartError> {
    static LOADED: OnceLock<bool> = OnceLock::new();
    let loaded = *LOADED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if loaded {
        Ok(())
    } else {
        Err(ChartError::Font)
    }
}

fn draw_error(error: impl std::fmt::Display) -> ChartError {
    ChartError::Draw(error.to_string())
}

fn encode(pixels: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ChartError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(pixels)?;
    writer.finish()?;
    Ok(out)
}

/// Okabe-Ito colours (Okabe & Ito, "Color Universal Design", 2008), distinguishable with
/// the common colour-vision deficiencies: severities get vermillion, orange, blue and grey
/// (most to least severe), other series the rest of the set.
fn series_color(name: &str, index: usize) -> RGBColor {
    const PALETTE: [RGBColor; 6] = [
        RGBColor(0, 114, 178),
        RGBColor(230, 159, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(86, 180, 233),
        RGBColor(213, 94, 0),
    ];
    match name.trim().to_ascii_lowercase().as_str() {
        "high" => RGBColor(213, 94, 0),
        "medium" => RGBColor(230, 159, 0),
        "low" => RGBColor(0, 114, 178),
        "informational" => RGBColor(153, 153, 153),
        _ => PALETTE[index % PALETTE.len()],
    }
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// Label of the category under an x position, for axis ticks at integers; only every
/// `every`-th category is labelled, so labels never overlap.
fn category_label(chart: &Chart, position: f64, every: usize) -> String {
    let nearest = position.round();
    if (position - nearest).abs() > 1e-6 || nearest < 0.0 {
        return String::new();
    }
    let index = nearest as usize;
    if !index.is_multiple_of(every.max(1)) {
        return String::new();
    }
    chart.categories.get(index).cloned().unwrap_or_default()
}

/// How many categories share one x label so that labels of `label_px` fit in `plot_px`.
fn label_step(chart: &Chart, plot_px: u32) -> usize {
    let widest = chart
        .categories
        .iter()
        .map(|it| it.chars().count())
        .max()
        .unwrap_or(1);
    // 13 px DejaVu Sans averages about 8 px a character; keep a gap of two characters.
    let label_px = (widest + 2) * 8;
    let fit = (plot_px as usize / label_px.max(1)).max(1);
    chart.categories.len().div_ceil(fit).max(1)
}

/// The y axis top and tick count for counts up to `max`, so every tick is a whole number.
fn integer_axis(max: f64) -> (i64, usize) {
    let max = max.ceil().max(1.0) as u64;
    // Headroom for the legend in the upper right corner.
    let wanted = max + max.div_ceil(3).max(1);
    let step = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000]
        .into_iter()
        .find(|step| wanted.div_ceil(*step) <= 8)
        .unwrap_or(wanted / 8 + 1);
    let top = wanted.div_ceil(step) * step;
    (top as i64, (top / step) as usize + 1)
}

fn value_at(values: &[f64], index: usize) -> f64 {
    values
        .get(index)
        .copied()
        .filter(|it| it.is_finite())
        .unwrap_or(0.0)
        .max(0.0)
}

fn draw_stacked_bar(chart: &Chart, root: &Area) -> Result<(), ChartError> {
    let count = chart.categories.len();
    let totals: Vec<f64> = (0..count)
        .map(|index| {
            chart
                .series
                .iter()
                .map(|it| value_at(&it.values, index))
                .sum()
        })
        .collect();
    let (top, ticks) = integer_axis(totals.iter().copied().fold(0.0, f64::max));
    let (width, _) = root.dim_in_pixel();
    let every = label_step(chart, width.saturating_sub(80));
    let mut ctx = ChartBuilder::on(root)
        .caption(&chart.title, (FAMILY, 22))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(52)
        .build_cartesian_2d(-0.5f64..(count as f64 - 0.5), 0i64..top)
        .map_err(draw_error)?;
    let x_format = |x: &f64| category_label(chart, *x, every);
    let mut mesh = ctx.configure_mesh();
    mesh.disable_x_mesh()
        .x_labels(count.min(100))
        .y_labels(ticks)
        .x_label_formatter(&x_format)
        .label_style((FAMILY, 13));
    if let Some(label) = &chart.x_label {
        mesh.x_desc(label.as_str());
    }
    if let Some(label) = &chart.y_label {
        mesh.y_desc(label.as_str());
    }
    mesh.draw().map_err(draw_error)?;
    let mut base = vec![0i64; count];
    let bar = 0.36f64.min(0.5 - 0.5 / (count as f64 + 1.0));
    for (series_index, series) in chart.series.iter().enumerate() {
        let color = series_color(&series.name, series_index);
        let bars: Vec<Rectangle<(f64, i64)>> = (0..count)
            .filter(|index| value_at(&series.values, *index) > 0.0)
            .map(|index| {
                let value = value_at(&series.values, index).round() as i64;
                let bottom = base[index];
                base[index] += value;
                let x = index as f64;
                Rectangle::new(
                    [(x - bar, bottom), (x + bar, bottom + value)],
                    color.filled(),
                )
            })
            .collect();
        ctx.draw_series(bars)
            .map_err(draw_error)?
            .label(series.name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    ctx.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .label_font((FAMILY, 13))
        .draw()
        .map_err(draw_error)
}

fn draw_line(chart: &Chart, root: &Area) -> Result<(), ChartError> {
    let count = chart.categories.len();
    let top = chart
        .series
        .iter()
        .flat_map(|it| (0..count).map(|index| value_at(&it.values, index)))
        .fold(0.0, f64::max)
        .max(1.0)
        * 1.35;
    let right = (count as f64 - 1.0).max(1.0);
    let mut ctx = ChartBuilder::on(root)
        .caption(&chart.title, (FAMILY, 22))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(48)
        .build_cartesian_2d(0f64..right, 0f64..top)
        .map_err(draw_error)?;
    let (width, _) = root.dim_in_pixel();
    let every = label_step(chart, width.saturating_sub(80));
    let x_format = |x: &f64| category_label(chart, *x, every);
    let y_format = |y: &f64| number(*y);
    let mut mesh = ctx.configure_mesh();
    mesh.x_labels(count.min(100))
        .x_label_formatter(&x_format)
        .y_label_formatter(&y_format)
        .label_style((FAMILY, 13));
    if let Some(label) = &chart.x_label {
        mesh.x_desc(label.as_str());
    }
    if let Some(label) = &chart.y_label {
        mesh.y_desc(label.as_str());
    }
    mesh.draw().map_err(draw_error)?;
    for (series_index, series) in chart.series.iter().enumerate() {
        let color = series_color(&series.name, series_index);
        let points: Vec<(f64, f64)> = (0..count)
            .map(|index| (index as f64, value_at(&series.values, index)))
            .collect();
        ctx.draw_series(LineSeries::new(points, color.stroke_width(3)))
            .map_err(draw_error)?
            .label(series.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 12, y)], color.stroke_width(3))
            });
    }
    draw_legend(&mut ctx)
}

fn draw_legend<'a>(
    ctx: &mut ChartContext<
        'a,
        BitMapBackend<'a>,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
) -> Result<(), ChartError> {
    ctx.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font((FAMILY, 13))
        .draw()
        .map_err(draw_error)
}

fn draw_donut(chart: &Chart, root: &Area) -> Result<(), ChartError> {
    // One slice per category; several series are summed per category.
    let sizes: Vec<f64> = (0..chart.categories.len())
        .map(|index| {
            chart
                .series
                .iter()
                .map(|it| value_at(&it.values, index))
                .sum()
        })
        .collect();
    if sizes.iter().sum::<f64>() <= 0.0 {
        return Err(ChartError::Empty);
    }
    let colors: Vec<RGBColor> = chart
        .categories
        .iter()
        .enumerate()
        .map(|(index, name)| series_color(name, index))
        .collect();
    let labels: Vec<String> = chart
        .categories
        .iter()
        .zip(&sizes)
        .map(|(name, size)| format!("{name} ({})", number(*size)))
        .collect();
    let titled = root
        .titled(&chart.title, (FAMILY, 22))
        .map_err(draw_error)?;
    let (width, height) = titled.dim_in_pixel();
    let center = (width as i32 / 2, height as i32 / 2);
    let radius = f64::from(width.min(height)) * 0.32;
    let mut pie = Pie::new(&center, &radius, &sizes, &colors, &labels);
    pie.start_angle(-90.0);
    pie.donut_hole(radius * 0.55);
    pie.label_style((FAMILY, 14).into_font().color(&BLACK));
    pie.label_offset(radius * 0.25);
    titled.draw(&pie).map_err(draw_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::Series;

    fn sample(kind: ChartKind, high: f64) -> Chart {
        Chart {
            title: "Incidents per day".to_string(),
            kind,
            categories: ["Mon", "Tue", "Wed", "Thu"].map(String::from).to_vec(),
            series: vec![
                Series {
                    name: "High".to_string(),
                    values: vec![high, 2.0, 0.0, 1.0],
                },
                Series {
                    name: "Medium".to_string(),
                    values: vec![3.0, 1.0, 4.0, 2.0],
                },
                Series {
                    name: "Low".to_string(),
                    values: vec![5.0, 0.0, 2.0, 2.0],
                },
                Series {
                    name: "Informational".to_string(),
                    values: vec![1.0, 1.0, 1.0, 0.0],
                },
            ],
            x_label: Some("Day".to_string()),
            y_label: Some("Incidents".to_string()),
        }
    }

    fn decode_size(bytes: &[u8]) -> (u32, u32) {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = decoder.read_info().expect("valid png");
        let info = reader.info();
        (info.width, info.height)
    }

    #[test]
    fn every_kind_renders_a_png_of_the_requested_size() {
        for kind in [ChartKind::StackedBar, ChartKind::Line, ChartKind::Donut] {
            let bytes = png(&sample(kind, 4.0), 640, 360).expect("chart renders");
            assert!(bytes.starts_with(&[0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n']));
            assert_eq!(decode_size(&bytes), (640, 360), "{kind:?}");
        }
    }

    #[test]
    fn different_data_gives_different_images() {
        for kind in [ChartKind::StackedBar, ChartKind::Line, ChartKind::Donut] {
            let first = png(&sample(kind, 4.0), 400, 300).expect("chart renders");
            let second = png(&sample(kind, 9.0), 400, 300).expect("chart renders");
            assert_ne!(first, second, "{kind:?}");
        }
    }

    #[test]
    fn rejects_bad_sizes_and_empty_charts() {
        assert!(matches!(
            png(&sample(ChartKind::Line, 1.0), 0, 10),
            Err(ChartError::Size(0, 10))
        ));
        assert!(matches!(
            png(&sample(ChartKind::Line, 1.0), 10, MAX_SIDE + 1),
            Err(ChartError::Size(..))
        ));
        let mut empty = sample(ChartKind::StackedBar, 1.0);
        empty.categories.clear();
        assert!(matches!(png(&empty, 100, 100), Err(ChartError::Empty)));
    }

    #[test]
    fn data_table_has_one_row_per_category_and_three_columns() {
        let table = data_table(&sample(ChartKind::StackedBar, 4.5));
        let names: Vec<&str> = table.columns.iter().map(|it| it.name.as_str()).collect();
        assert_eq!(names, ["Day", "Incidents", "Breakdown"]);
        assert_eq!(table.rows.len(), 4);
        assert_eq!(table.rows[0][1].text, "13.50");
        assert_eq!(
            table.rows[0][2].text,
            "High\u{a0}4.50 · Medium\u{a0}3 · Low\u{a0}5 · Informational\u{a0}1"
        );
        assert_eq!(
            table.rows[2][2].text,
            "Medium\u{a0}4 · Low\u{a0}2 · Informational\u{a0}1"
        );
    }

    #[test]
    fn the_y_axis_has_whole_ticks_and_room_for_the_legend() {
        for max in [0.0, 1.0, 3.0, 7.0, 33.0, 55.0, 480.0] {
            let (top, ticks) = integer_axis(max);
            assert!(top as f64 > max, "{max}");
            assert!((2..=9).contains(&ticks), "{max}: {ticks}");
            assert_eq!(top % (ticks as i64 - 1), 0, "{max}: step divides the top");
        }
        assert_eq!(integer_axis(1.0), (2, 3));
        assert_eq!(integer_axis(33.0), (50, 6));
    }

    #[test]
    fn labels_thin_out_when_categories_are_many() {
        let mut chart = sample(ChartKind::StackedBar, 1.0);
        assert_eq!(label_step(&chart, 900), 1);
        chart.categories = (0..30).map(|day| format!("Mon {day:02}")).collect();
        let step = label_step(&chart, 900);
        assert!(step >= 3, "{step}");
        assert_eq!(category_label(&chart, 0.0, step), "Mon 00");
        assert_eq!(category_label(&chart, 1.0, step), "");
        assert_eq!(category_label(&chart, 0.5, 1), "");
    }
}
