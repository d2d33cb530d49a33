"""Country codes and names: ISO 3166-1 alpha-2 and alpha-3, English names and aliases, and
the GEMAS project's codes (the tables :mod:`chemearth.reference.countries` reads).
"""

from __future__ import annotations

import re

__all__ = ["ALIASES", "ALPHA3_TO_ALPHA2", "GEMAS_CODES", "NAMES"]

# ISO 3166-1: alpha-2, alpha-3, English short name; plus XK/XKX Kosovo (user-assigned
# code used by the EU and IMF, and by Natural Earth's Kosovo polygon).
_ISO = """
AD AND Andorra|AE ARE United Arab Emirates|AF AFG Afghanistan|AG ATG Antigua and Barbuda|
AI AIA Anguilla|AL ALB Albania|AM ARM Armenia|AO AGO Angola|AQ ATA Antarctica|AR ARG Argentina|
AS ASM American Samoa|AT AUT Austria|AU AUS Australia|AW ABW Aruba|AX ALA Åland Islands|
AZ AZE Azerbaijan|BA BIH Bosnia and Herzegovina|BB BRB Barbados|BD BGD Bangladesh|BE BEL Belgium|
BF BFA Burkina Faso|BG BGR Bulgaria|BH BHR Bahrain|BI BDI Burundi|BJ BEN Benin|
BL BLM Saint Barthélemy|BM BMU Bermuda|BN BRN Brunei Darussalam|BO BOL Bolivia|
BQ BES Bonaire, Sint Eustatius and Saba|BR BRA Brazil|BS BHS Bahamas|BT BTN Bhutan|
BV BVT Bouvet Island|BW BWA Botswana|BY BLR Belarus|BZ BLZ Belize|CA CAN Canada|
CC CCK Cocos (Keeling) Islands|CD COD Democratic Republic of the Congo|
CF CAF Central African Republic|CG COG Congo|CH CHE Switzerland|CI CIV Côte d'Ivoire|
CK COK Cook Islands|CL CHL Chile|CM CMR Cameroon|CN CHN China|CO COL Colombia|CR CRI Costa Rica|
CU CUB Cuba|CV CPV Cabo Verde|CW CUW Curaçao|CX CXR Christmas Island|CY CYP Cyprus|CZ CZE Czechia|
DE DEU Germany|DJ DJI Djibouti|DK DNK Denmark|DM DMA Dominica|DO DOM Dominican Republic|
DZ DZA Algeria|EC ECU Ecuador|EE EST Estonia|EG EGY Egypt|EH ESH Western Sahara|ER ERI Eritrea|
ES ESP Spain|ET ETH Ethiopia|FI FIN Finland|FJ FJI Fiji|FK FLK Falkland Islands|FM FSM Micronesia|
FO FRO Faroe Islands|FR FRA France|GA GAB Gabon|GB GBR United Kingdom|GD GRD Grenada|
GE GEO Georgia|GF GUF French Guiana|GG GGY Guernsey|GH GHA Ghana|GI GIB Gibraltar|GL GRL Greenland|
GM GMB Gambia|GN GIN Guinea|GP GLP Guadeloupe|GQ GNQ Equatorial Guinea|GR GRC Greece|
GS SGS South Georgia and the South Sandwich Islands|GT GTM Guatemala|GU GUM Guam|
GW GNB Guinea-Bissau|GY GUY Guyana|HK HKG Hong Kong|HM HMD Heard Island and McDonald Islands|
HN HND Honduras|HR HRV Croatia|HT HTI Haiti|HU HUN Hungary|ID IDN Indonesia|IE IRL Ireland|
IL ISR Israel|IM IMN Isle of Man|IN IND India|IO IOT British Indian Ocean Territory|IQ IRQ Iraq|
IR IRN Iran|IS ISL Iceland|IT ITA Italy|JE JEY Jersey|JM JAM Jamaica|JO JOR Jordan|JP JPN Japan|
KE KEN Kenya|KG KGZ Kyrgyzstan|KH KHM Cambodia|KI KIR Kiribati|KM COM Comoros|
KN KNA Saint Kitts and Nevis|KP PRK North Korea|KR KOR South Korea|KW KWT Kuwait|
KY CYM Cayman Islands|KZ KAZ Kazakhstan|LA LAO Laos|LB LBN Lebanon|LC LCA Saint Lucia|
LI LIE Liechtenstein|LK LKA Sri Lanka|LR LBR Liberia|LS LSO Lesotho|LT LTU Lithuania|
LU LUX Luxembourg|LV LVA Latvia|LY LBY Libya|MA MAR Morocco|MC MCO Monaco|MD MDA Moldova|
ME MNE Montenegro|MF MAF Saint Martin (French part)|MG MDG Madagascar|MH MHL Marshall Islands|
MK MKD North Macedonia|ML MLI Mali|MM MMR Myanmar|MN MNG Mongolia|MO MAC Macao|
MP MNP Northern Mariana Islands|MQ MTQ Martinique|MR MRT Mauritania|MS MSR Montserrat|MT MLT Malta|
MU MUS Mauritius|MV MDV Maldives|MW MWI Malawi|MX MEX Mexico|MY MYS Malaysia|MZ MOZ Mozambique|
NA NAM Namibia|NC NCL New Caledonia|NE NER Niger|NF NFK Norfolk Island|NG NGA Nigeria|
NI NIC Nicaragua|NL NLD Netherlands|NO NOR Norway|NP NPL Nepal|NR NRU Nauru|NU NIU Niue|
NZ NZL New Zealand|OM OMN Oman|PA PAN Panama|PE PER Peru|PF PYF French Polynesia|
PG PNG Papua New Guinea|PH PHL Philippines|PK PAK Pakistan|PL POL Poland|
PM SPM Saint Pierre and Miquelon|PN PCN Pitcairn|PR PRI Puerto Rico|PS PSE Palestine|
PT PRT Portugal|PW PLW Palau|PY PRY Paraguay|QA QAT Qatar|RE REU Réunion|RO ROU Romania|
RS SRB Serbia|RU RUS Russian Federation|RW RWA Rwanda|SA SAU Saudi Arabia|SB SLB Solomon Islands|
SC SYC Seychelles|SD SDN Sudan|SE SWE Sweden|SG SGP Singapore|
SH SHN Saint Helena, Ascension and Tristan da Cunha|SI SVN Slovenia|SJ SJM Svalbard and Jan Mayen|
SK SVK Slovakia|SL SLE Sierra Leone|SM SMR San Marino|SN SEN Senegal|SO SOM Somalia|
SR SUR Suriname|SS SSD South Sudan|ST STP Sao Tome and Principe|SV SLV El Salvador|
SX SXM Sint Maarten (Dutch part)|SY SYR Syria|SZ SWZ Eswatini|TC TCA Turks and Caicos Islands|
TD TCD Chad|TF ATF French Southern Territories|TG TGO Togo|TH THA Thailand|TJ TJK Tajikistan|
TK TKL Tokelau|TL TLS Timor-Leste|TM TKM Turkmenistan|TN TUN Tunisia|TO TON Tonga|TR TUR Türkiye|
TT TTO Trinidad and Tobago|TV TUV Tuvalu|TW TWN Taiwan|TZ TZA Tanzania|UA UKR Ukraine|
UG UGA Uganda|UM UMI United States Minor Outlying Islands|US USA United States|UY URY Uruguay|
UZ UZB Uzbekistan|VA VAT Holy See|VC VCT Saint Vincent and the Grenadines|VE VEN Venezuela|
VG VGB British Virgin Islands|VI VIR U.S. Virgin Islands|VN VNM Viet Nam|VU VUT Vanuatu|
WF WLF Wallis and Futuna|WS WSM Samoa|YE YEM Yemen|YT MYT Mayotte|ZA ZAF South Africa|
ZM ZMB Zambia|ZW ZWE Zimbabwe|XK XKX Kosovo
"""
_ROWS = [e.split(" ", 2) for e in re.split(r"\s*\|\s*", _ISO.strip())]
NAMES: dict[str, str] = {a2: name for a2, _, name in _ROWS}
ALPHA3_TO_ALPHA2: dict[str, str] = {a3: a2 for a2, a3, _ in _ROWS}

# fmt: off
# Other English names, and the exceptionally reserved UK and EL used in European data.
ALIASES: dict[str, str] = {
    "UK": "GB", "EL": "GR", "Great Britain": "GB", "Britain": "GB", "England": "GB",
    "Scotland": "GB", "Wales": "GB", "Northern Ireland": "GB", "Russia": "RU",
    "United States of America": "US", "Czech Republic": "CZ", "Turkey": "TR", "Vietnam": "VN",
    "Iran, Islamic Republic of": "IR", "Korea, Republic of": "KR", "Republic of Korea": "KR",
    "Korea, Democratic People's Republic of": "KP", "Bolivia, Plurinational State of": "BO",
    "Venezuela, Bolivarian Republic of": "VE", "Syrian Arab Republic": "SY",
    "Lao People's Democratic Republic": "LA", "Moldova, Republic of": "MD",
    "Republic of Moldova": "MD", "Tanzania, United Republic of": "TZ",
    "United Republic of Tanzania": "TZ", "Macedonia": "MK",
    "The former Yugoslav Republic of Macedonia": "MK", "Ivory Coast": "CI", "Swaziland": "SZ",
    "Cape Verde": "CV", "Burma": "MM", "Vatican": "VA", "Vatican City": "VA", "Brunei": "BN",
    "Micronesia, Federated States of": "FM", "Congo, The Democratic Republic of the": "CD",
    "DR Congo": "CD", "Congo-Kinshasa": "CD", "Republic of the Congo": "CG",
    "Congo-Brazzaville": "CG", "East Timor": "TL", "Palestine, State of": "PS", "Holland": "NL",
    "Bosnia": "BA", "Falkland Islands (Malvinas)": "FK", "Macau": "MO", "Aland": "AX",
}

# GEMAS (Reimann et al. 2014) country codes. Each mapping was checked by locating the 2108
# samples' WGS84 longitude/latitude (gemas.csv) in the Natural Earth 1:10m polygons: 99.3 %
# fall in the country given here (every code >= 90 %); the rest lie within 5 km of a border,
# on Åland (3 FIN samples) or have a mistyped latitude (1 SRB sample, 300 km off).
# Non-obvious ones: FOM = former Yugoslav Republic of Macedonia, HEL = Hellas (Greece),
# MON = Montenegro, NEL = Netherlands, SIL = Switzerland (all 17 samples in CH),
# SKA = Slovakia, SLO = Slovenia (all 9 in SI), UNK = United Kingdom, AUS = Austria.
GEMAS_CODES: dict[str, str] = {
    "AUS": "AT", "BEL": "BE", "BOS": "BA", "BUL": "BG", "CRO": "HR", "CYP": "CY", "CZR": "CZ",
    "DEN": "DK", "EST": "EE", "FIN": "FI", "FOM": "MK", "FRA": "FR", "GER": "DE", "HEL": "GR",
    "HUN": "HU", "IRL": "IE", "ITA": "IT", "LAV": "LV", "LIT": "LT", "LUX": "LU", "MON": "ME",
    "NEL": "NL", "NOR": "NO", "POL": "PL", "PTG": "PT", "SIL": "CH", "SKA": "SK", "SLO": "SI",
    "SPA": "ES", "SRB": "RS", "SWE": "SE", "UKR": "UA", "UNK": "GB",
}

# fmt: on
