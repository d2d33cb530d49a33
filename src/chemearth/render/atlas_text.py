"""The words of the atlas, in English and Chinese, Chinese element names, and how the atlas
prints a number (:func:`fmt_value`).

Examples
--------
>>> element_name("Cu", "en"), element_name("Cu", "zh")
('copper', '铜')
>>> LABELS["zh"]["summary"]
'汇总表'
>>> fmt_value(22.89837813), fmt_value(0.000412), fmt_value(1234.5), fmt_value(None)
('22.9', '0.000412', '1.23e+03', '–')
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np

from chemearth.reference.elements import ELEMENTS

__all__ = ["ELEMENT_NAMES_ZH", "LABELS", "element_name", "fmt_value"]

_ZH = (
    "氢氦锂铍硼碳氮氧氟氖钠镁铝硅磷硫氯氩钾钙钪钛钒铬锰铁钴镍铜锌镓锗砷硒溴氪铷锶钇锆铌钼锝钌铑钯银镉铟锡"
    "锑碲碘氙铯钡镧铈镨钕钷钐铕钆铽镝钬铒铥镱镥铪钽钨铼锇铱铂金汞铊铅铋钋砹氡钫镭锕钍镤铀"
)
#: Chemical symbol -> Chinese name (Z = 1–92).
ELEMENT_NAMES_ZH: Final = dict(zip(ELEMENTS, _ZH, strict=True))


def element_name(symbol: str, lang: str = "en") -> str:
    """The name of an element (or the code itself for a parameter such as ``LOI``)."""
    el = ELEMENTS.get(symbol)
    if el is None:
        return ""
    return ELEMENT_NAMES_ZH[symbol] if lang == "zh" else el.name


def fmt_value(v: Any) -> str:
    """Three significant digits, no exponent for ordinary geochemical values ("–" for none)."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    if isinstance(v, int | np.integer) or (isinstance(v, float) and v.is_integer()
                                            and abs(v) >= 100):
        return f"{int(v):,}".replace(",", " ")
    a = abs(float(v))
    if a == 0:
        return "0"
    if a >= 1000 or a < 0.001:
        return f"{v:.3g}"
    digits = max(0, 2 - math.floor(math.log10(a)))
    return f"{v:.{digits}f}"


_STATS_EN = {
    "stat_n": "n", "stat_n_censored": "n < DL", "stat_max_dl": "detection limit (largest)",
    "stat_min": "minimum", "stat_p5": "P5", "stat_p10": "P10", "stat_p25": "P25 (Q1)",
    "stat_median": "median", "stat_p75": "P75 (Q3)", "stat_p90": "P90", "stat_p95": "P95",
    "stat_p98": "P98", "stat_max": "maximum", "stat_mad": "MAD",
    "stat_tukey_lower": "lower inner fence (log)", "stat_tukey_upper": "upper inner fence (log)",
    "stat_background": "background range",
}
_STATS_ZH = {
    "stat_n": "样品数", "stat_n_censored": "低于检出限", "stat_max_dl": "检出限（最大）",
    "stat_min": "最小值", "stat_p5": "P5", "stat_p10": "P10", "stat_p25": "P25（下四分位）",
    "stat_median": "中位数", "stat_p75": "P75（上四分位）", "stat_p90": "P90", "stat_p95": "P95",
    "stat_p98": "P98", "stat_max": "最大值", "stat_mad": "中位数绝对偏差 MAD",
    "stat_tukey_lower": "下内限（对数）", "stat_tukey_upper": "上内限（对数）",
    "stat_background": "背景范围",
}

_METHODS_EN = """\
Samples and analyses. The atlas shows the dataset as ingested by chemearth, with its
detection limits and its citation ({citation}). For each element the analytical method
closest to a total digestion is mapped: {methods}.

Values below the detection limit (DL). Statistics treat them as equal to their DL (the
chemearth convention); the number below DL and the largest DL are given on every page.
Interpolation substitutes 0.5 x DL.

Statistics. Percentiles are linear (type 7) percentiles; MAD is the median absolute
deviation from the median (unscaled). The background range is bounded by Tukey's inner
fences of the log10 values, Q1 - 1.5 IQR and Q3 + 1.5 IQR, back-transformed (Reimann et
al. 2005). The tables equal chemearth's baseline API for the same dataset and method.

Maps. The map shows {kind}. Colours are cumulative-frequency classes bounded at the 5th,
25th, 50th, 75th, 90th and 98th percentiles of the mapped values (seven classes, as in the
European atlases), on a perceptually uniform, colour-blind-safe scale (viridis). Surfaces
are ordinary kriging of ln values with the 32 nearest samples, a variogram model
(spherical, exponential or Gaussian with nugget) fitted by weighted least squares (N/h^2),
and the lognormal back-transform exp(y* + s^2/2 + mu); leave-one-out cross-validation
errors are printed under each table. Pixels farther than twice the median sample spacing
from a sample are left blank. The projection is Lambert azimuthal equal-area centred on the
data; country boundaries are Natural Earth admin-0.

Plots. Histogram with kernel density, Tukey boxplot and empirical cumulative distribution,
on a log10 axis; censored values are drawn at their DL.

References. Reimann, C., Filzmoser, P. & Garrett, R.G. (2005) Sci. Total Environ. 346,
1-16. Reimann, C., Filzmoser, P., Garrett, R.G. & Dutter, R. (2008) Statistical Data
Analysis Explained. Wiley. Journel, A.G. (1980) Math. Geol. 12, 285-303.
"""

_METHODS_ZH = """\
样品与分析：本图集展示经 chemearth 导入的数据集及其检出限与引用（{citation}）。每个元素
采用最接近全量消解的分析方法：{methods}。

低于检出限的数据：统计时按检出限计（chemearth 约定），每页给出低于检出限的样品数与最大检出限；
插值时以 0.5 倍检出限代替。

统计量：百分位数为线性（第 7 类）百分位数；MAD 为相对中位数的绝对偏差的中位数（未缩放）。
背景范围以 log10 数据的 Tukey 内限（Q1 − 1.5 IQR 与 Q3 + 1.5 IQR）反变换后界定
（Reimann 等，2005）。表中数值与 chemearth 基准值 API 对同一数据集和方法的结果一致。

地图：地图显示{kind}。颜色为累积频率分级，分级界限为所绘数值的第 5、25、50、75、90 和 98
百分位数（七级，与欧洲地球化学图集相同），采用感知均匀、色盲友好的 Viridis 配色。
插值面为对数值的普通克里格法，使用最近的 32 个样品，变差函数模型（球状、指数或高斯，含块金）
以加权最小二乘（N/h²）拟合，并按对数正态反变换 e^(y* + s²/2 + μ)；每页表下给出留一交叉验证误差。
距最近样品超过两倍样品间距中位数的像元留空。投影为以数据为中心的兰伯特方位等积投影；
国界取自自然地球数据（www.naturalearthdata.com）。

统计图：直方图与核密度曲线、Tukey 箱线图和经验累积分布，横轴为对数坐标；
低于检出限的数据按检出限绘制。

参考文献：Reimann 等 (2005) Sci. Total Environ. 346, 1–16；Reimann 等 (2008) Statistical
Data Analysis Explained, Wiley；Journel (1980) Math. Geol. 12, 285–303。
"""

# the analytics pages (chemearth.render.atlas_analytics)
_ANALYTICS_EN = {
    "ca_title": "concentration–area (C-A) fractal",
    "ca_xlabel": "concentration ({unit})", "ca_ylabel": "area at or above (km²)",
    "ca_cells": "cells, fitted", "ca_unfitted": "cells, not fitted (below the highest DL)",
    "ca_fit": "segmented fit", "ca_ci": "{c:.0f} % confidence interval",
    "ca_break": "threshold", "ca_ci_col": "{c:.0f} % CI", "ca_slope": "slope above",
    "ca_main": "main threshold T", "ca_zones": "zones", "ca_cells_col": "cells",
    "ca_area_col": "km²",
    "ca_note": "C-A: the area of the {level} cells ({grid} grid, cell median of the samples) "
               "at or above each concentration, log–log. {k} breakpoint(s) fitted by "
               "segmented regression (Muggeo 2003), their number chosen by BIC; slope of the "
               "first segment {slope:.2f}. The intervals are delta-method ones, a lower bound "
               "of the uncertainty. The main threshold T is the lowest breakpoint above the "
               "median cell value ({median} {unit}); the anomaly zones lie at 1, 2 and 4 × T "
               "(Cheng, Agterberg & Ballantyne 1994).",
    "zones_heading": "Anomaly zones, {element} ({unit})",
    "zone_outer": "outer zone ≥ {v} (1 × T)", "zone_middle": "middle zone ≥ {v} (2 × T)",
    "zone_inner": "inner zone ≥ {v} (4 × T)",
    "zone_background": "background < {v}: grey by cell median",
    "zone_unknown": "below DL, zone unknown", "zone_cells": "{n} cells",
    "fa_title": "Robust factor analysis (clr)",
    "fa_map_title": "Factor {f}: scores",
    "fa_text": "Robust principal components and factors of the clr-transformed compositions "
               "of {parts} ({n} samples with every part; {left} left out; values below "
               "the DL at 0.65 × DL), MCD estimates (Filzmoser, Hron & Reimann 2009). "
               "Factors: principal factor analysis of the robust clr correlation, varimax "
               "rotation; scores by regression.",
    "fa_loadings": "loadings", "fa_communality": "communality",
    "fa_explained": "explained %", "pca_component": "component",
    "pca_variance": "variance", "pca_cumulative": "cumulative %",
    "biplot_title": "Covariance biplot (robust PCA of clr)", "biplot_samples": "samples",
    "biplot_parts": "clr parts", "score_heading": "{f} score",
    "score_note": "{f} explains {v:.1f} % of the clr variance; n = {n} samples; colours "
                  "clipped at ± {lim} (98th percentile of |score|).",
    "score_loadings": "loadings of {f}",
}
_ANALYTICS_ZH = {
    "ca_title": "含量–面积（C-A）分形",
    "ca_xlabel": "含量（{unit}）", "ca_ylabel": "不低于该含量的面积（km²）",
    "ca_cells": "网格单元（参与拟合）", "ca_unfitted": "网格单元（低于最大检出限，未拟合）",
    "ca_fit": "分段拟合", "ca_ci": "{c:.0f} % 置信区间",
    "ca_break": "阈值", "ca_ci_col": "{c:.0f} % 置信区间", "ca_slope": "上段斜率",
    "ca_main": "主阈值 T", "ca_zones": "分带", "ca_cells_col": "单元数",
    "ca_area_col": "km²",
    "ca_note": "C-A：{grid} 网格 {level} 单元（单元内样品中位数）中含量不低于各含量值的面积，"
               "双对数坐标。分段回归（Muggeo 2003）拟合 {k} 个断点，断点个数按 BIC 选择；"
               "第一段斜率 {slope:.2f}。置信区间为 delta 法区间，是不确定度的下限。"
               "主阈值 T 为高于单元中位数（{median} {unit}）的最低断点；"
               "异常外带、中带、内带分别为 T 的 1、2、4 倍"
               "（Cheng、Agterberg 与 Ballantyne 1994）。",
    "zones_heading": "{element} 异常分带（{unit}）",
    "zone_outer": "外带 ≥ {v}（1 × T）", "zone_middle": "中带 ≥ {v}（2 × T）",
    "zone_inner": "内带 ≥ {v}（4 × T）",
    "zone_background": "背景 < {v}：灰度表示单元中位数",
    "zone_unknown": "低于检出限，分带未知", "zone_cells": "{n} 个单元",
    "fa_title": "稳健因子分析（clr）",
    "fa_map_title": "因子 {f}：因子得分",
    "fa_text": "对 {parts} 的组成数据作 clr 变换后的稳健主成分分析与因子分析"
               "（{n} 个样品各组分齐全，{left} 个样品未用；低于检出限的数据取 0.65 倍检出限），"
               "采用 MCD 估计（Filzmoser、Hron 与 Reimann 2009）。因子分析为稳健 clr "
               "相关矩阵的主因子法，方差最大旋转；因子得分用回归法。",
    "fa_loadings": "载荷", "fa_communality": "共同度",
    "fa_explained": "解释方差 %", "pca_component": "主成分",
    "pca_variance": "方差", "pca_cumulative": "累计 %",
    "biplot_title": "协方差双标图（clr 稳健主成分）", "biplot_samples": "样品",
    "biplot_parts": "clr 组分", "score_heading": "{f} 得分",
    "score_note": "{f} 解释 clr 方差的 {v:.1f} %；样品数 {n}；颜色在 ± {lim} 处截断"
                  "（|得分| 的第 98 百分位数）。",
    "score_loadings": "{f} 的载荷",
}

#: Every label of the atlas pages, per language.
LABELS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "atlas_title": "Geochemical Atlas", "dataset": "Dataset", "medium": "Sample medium",
        "countries": "Countries", "samples": "Samples", "elements": "Elements",
        "source": "Data source", "made": "Made with chemearth on", "contents": "Contents",
        "methods": "Methods", "summary": "Summary table", "cover": "Cover",
        "statistic": "statistic", "methods_text": _METHODS_EN,
        "lang": "en", "list_sep": ", ", "method_sep": "; ",
        "plot_title": "Distribution: n = {n}, {nc} below DL",
        "kind_surface": "an interpolated surface (ordinary kriging) with the sample sites",
        "kind_cells": "the median of the samples in each grid cell",
        "kind_points": "the samples as class symbols",
        "log": "of ln values",
        "note_kriging": "Map: {how} {log}, {k} nearest of {n} samples.",
        "note_variogram": "Variogram: {model}, nugget {nugget:.3g}, partial sill {psill:.3g}, "
                          "practical range {range:.3g} km.",
        "note_cv": "Leave-one-out: RMSE {rmse}, MAE {mae}, bias {bias}.",
        "col_element": "El.", "col_unit": "unit", "col_n": "n", "col_censored_pct": "% < DL",
        "col_min": "min", "col_median": "median", "col_mad": "MAD", "col_p98": "P98",
        "col_max": "max", "col_tukey_upper": "upper fence",
        "quality": "Data quality",
        "quality_text": "Per element, for the method its page maps: results, % below the "
                        "detection limit and the largest limit; precision (RSD %) of field "
                        "and analytical duplicates; sampling plus analytical error as a share "
                        "of the total variance (nested ANOVA of log10 values; above 20 % an "
                        "element is not fit for mapping); RSD % of the project standard and "
                        "the batches it rejected; levelling applied. Quality-control data: "
                        "{qc}.",
        "role_field-duplicates": "field duplicates",
        "role_analytical-duplicates": "analytical duplicates",
        "role_reference-material": "reference material",
        "role_replicate-status": "field duplicates in the survey",
        "qcol_n": "n", "qcol_pct_censored": "% < DL", "qcol_dl_max": "DL",
        "qcol_rsd_field_pct": "RSD field %", "qcol_rsd_analytical_pct": "RSD anal. %",
        "qcol_measurement_pct": "sampl.+anal. % var.", "qcol_fit_for_mapping": "mappable",
        "qcol_control_rsd_pct": "standard RSD %", "qcol_batches_rejected": "batches rejected",
        "qcol_levelled": "levelled", "yes": "yes", "no": "no",
        "q_title": "Quality:", "q_field": "field duplicates RSD {v:.1f} %",
        "q_analytical": "analytical duplicates RSD {v:.1f} %",
        "q_standard": "standard RSD {v:.1f} %",
        "q_variance": "sampling + analytical {v:.0f} % of the variance,",
        "q_fit": "fit for mapping", "q_unfit": "NOT fit for mapping",
        "q_levelled": "levelled: {v}",
        **_STATS_EN,
        **_ANALYTICS_EN,
    },
    "zh": {
        "atlas_title": "地球化学图集", "dataset": "数据集", "medium": "采样介质",
        "countries": "国家", "samples": "样品数", "elements": "元素",
        "source": "数据来源", "made": "由 chemearth 生成于", "contents": "目录",
        "methods": "方法", "summary": "汇总表", "cover": "封面", "statistic": "统计量",
        "methods_text": _METHODS_ZH, "lang": "zh", "list_sep": "、", "method_sep": "；",
        "plot_title": "分布：n = {n}，低于检出限 {nc} 个",
        "ordinary kriging": "普通克里格法", "inverse distance weighting": "反距离加权法",
        "kind_surface": "插值面（普通克里格法）及采样点",
        "kind_cells": "每个网格单元内样品的中位数",
        "kind_points": "以分级符号表示的样品",
        "log": "（对数值）",
        "note_kriging": "地图：{how}{log}，使用 {n} 个样品中最近的 {k} 个。",
        "note_variogram": "变差函数：{model}，块金 {nugget:.3g}，偏基台 {psill:.3g}，"
                          "实际变程 {range:.3g} km。",
        "note_cv": "留一交叉验证：RMSE {rmse}，MAE {mae}，偏差 {bias}。",
        "col_element": "元素", "col_unit": "单位", "col_n": "样品数",
        "col_censored_pct": "% < 检出限",
        "col_min": "最小值", "col_median": "中位数", "col_mad": "MAD", "col_p98": "P98",
        "col_max": "最大值", "col_tukey_upper": "上内限",
        "quality": "数据质量",
        "quality_text": "按元素列出其图页所用分析方法的：数据个数、低于检出限的比例与最大检出限；"
                        "野外重复样与分析重复样的精密度（RSD %）；采样与分析误差占总方差的比例"
                        "（log10 数据的嵌套方差分析，超过 20 % 的元素不宜成图）；项目标准样的 "
                        "RSD % 及其判定不合格的批次；所作的数据调平。质量控制数据：{qc}。",
        "role_field-duplicates": "野外重复样",
        "role_analytical-duplicates": "分析重复样",
        "role_reference-material": "标准物质",
        "role_replicate-status": "调查中的野外重复样",
        "qcol_n": "n", "qcol_pct_censored": "% < 检出限", "qcol_dl_max": "检出限",
        "qcol_rsd_field_pct": "野外重复 RSD %", "qcol_rsd_analytical_pct": "分析重复 RSD %",
        "qcol_measurement_pct": "采样+分析 方差 %", "qcol_fit_for_mapping": "可成图",
        "qcol_control_rsd_pct": "标准样 RSD %", "qcol_batches_rejected": "不合格批次",
        "qcol_levelled": "已调平", "yes": "是", "no": "否",
        "q_title": "质量：", "q_field": "野外重复样 RSD {v:.1f} %",
        "q_analytical": "分析重复样 RSD {v:.1f} %",
        "q_standard": "标准样 RSD {v:.1f} %",
        "q_variance": "采样与分析误差占方差 {v:.0f} %，",
        "q_fit": "可以成图", "q_unfit": "不宜成图",
        "q_levelled": "已调平：{v}",
        **_STATS_ZH,
        **_ANALYTICS_ZH,
    },
}
